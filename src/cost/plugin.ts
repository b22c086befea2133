import { HeaderMap, type ApolloServerPlugin, type GraphQLRequest } from '@apollo/server';
import type { GatewayContext, RequestState } from '../graph/context.js';
import type { CostAnalyzer, CostBreakdownEntry } from './analyzer.js';

/** Header asking for the price of an operation without running it: `1` or `true`. */
export const DRY_RUN_HEADER = 'x-cost-dry-run';

/** What `extensions.cost` of a response holds. */
export interface CostExtension {
  /** The estimate before execution (the spec's field cost). */
  requested: number;
  /** The field cost of the data returned; absent in a dry run. */
  actual?: number;
  typeCost: number;
  /** The caller's cost budget, when a limits plugin set one. */
  limit?: NonNullable<RequestState['costLimit']>;
  /** Dry runs only: the estimate per response path. */
  breakdown?: CostBreakdownEntry[];
}

/**
 * Query cost as an Apollo plugin. `didResolveOperation` (after validation, before any resolver)
 * prices the operation into `state.cost`, synchronously when the hook starts, so plugins
 * registered after this one (limits) see it in their own `didResolveOperation`. A dry run
 * (`x-cost-dry-run: 1`, or `extensions: { dryRun: true }` in the body) is answered from
 * `responseForOperation` with HTTP 200, `data: null` and the estimate with its breakdown: nothing
 * executes and no downstream service is called. Otherwise `willSendResponse` computes the
 * actual cost from the data returned. Every priced response carries `extensions.cost`; an
 * operation that failed to parse or validate is not priced and carries none.
 */
export function costPlugin(options: { analyzer: CostAnalyzer }): ApolloServerPlugin<GatewayContext> {
  const { analyzer } = options;
  return {
    async requestDidStart() {
      let breakdown: CostBreakdownEntry[] = [];
      return {
        async didResolveOperation({ document, operation, request, contextValue }) {
          if (!operation) return; // execution reports the missing or ambiguous operation
          const estimate = analyzer.estimate(document, request.operationName, request.variables);
          contextValue.state.cost = { requested: estimate.fieldCost, typeCost: estimate.typeCost };
          if (isDryRun(request)) {
            contextValue.state.dryRun = true;
            breakdown = estimate.breakdown;
          }
        },

        async responseForOperation({ contextValue }) {
          if (!contextValue.state.dryRun) return null;
          return { http: { headers: new HeaderMap(), status: 200 }, body: { kind: 'single', singleResult: { data: null } } };
        },

        async willSendResponse({ document, request, response, contextValue }) {
          const { state } = contextValue;
          const cost = state.cost;
          if (!cost || !document || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (!state.dryRun) {
            try {
              cost.actual = analyzer.actual(document, request.operationName, request.variables, result.data);
            } catch (err) {
              // The response is already made: a bug here must not turn it into an error.
              contextValue.logger.error({ err, requestId: contextValue.requestId }, 'actual cost failed');
            }
          }
          const extension: CostExtension = {
            requested: cost.requested,
            ...(cost.actual === undefined ? {} : { actual: cost.actual }),
            typeCost: cost.typeCost,
            ...(state.costLimit ? { limit: state.costLimit } : {}),
            ...(state.dryRun ? { breakdown } : {}),
          };
          result.extensions = { ...result.extensions, cost: extension };
        },
      };
    },
  };
}

function isDryRun(request: GraphQLRequest): boolean {
  return asksDryRun(request.http?.headers.get(DRY_RUN_HEADER), request.extensions);
}

/** A price-only request: the `x-cost-dry-run` header's value is `1` or `true`, or `extensions.dryRun` is true. */
export function asksDryRun(header: string | undefined, extensions: unknown): boolean {
  const value = header?.trim().toLowerCase();
  return value === '1' || value === 'true' || (typeof extensions === 'object' && extensions !== null && (extensions as Record<string, unknown>)['dryRun'] === true);
}
