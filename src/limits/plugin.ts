import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import type { GatewayError } from '../errors/gateway-error.js';
import { hasTenant, type Principal, type TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { GatewayContext, RequestState } from '../graph/context.js';
import type { LimitDimension } from './dimensions.js';
import type { EarlyChecks } from './early-check.js';
import type { FailedCharge, FailedRequests } from './failed-requests.js';
import type { LocalRefusals } from './local-refusals.js';
import type { LimitObserver } from './limit-observer.js';
import { isUsageOnly, rateLimitDryRun } from './free-operations.js';
import { rateLimitHeaders } from './headers.js';
import type { DecisionSource, Limiter } from './limiter.js';
import type { OverridesStore } from './overrides.js';
import { costLimitExceededError, limitsUnavailableError, rateLimitedError } from './rate-limit-error.js';
import { requestCharge } from './request-charge.js';
import { rootFieldsOf } from './root-fields.js';
import type { Adjustment, LimitDecision } from './store/types.js';
import type { FragmentDefinitionNode, OperationDefinitionNode } from 'graphql';
import type { createThrottleLog } from './throttle-log.js';

/** What was charged for a request, kept until the response is out so it can be settled. */
interface Charge {
  dims: LimitDimension[];
  decision: LimitDecision;
  source: DecisionSource;
  chargedCost: number;
}


/**
 * Plan limits as an Apollo plugin. In `didResolveOperation` (after validation, before any
 * resolver) it checks the single-operation cost maximum, then every dimension of the caller's
 * plan in one limiter call, and sets the rate-limit headers; over a limit it throws a 429 that
 * Apollo turns into the response, so nothing executes. After the response, `settle` refunds the
 * difference between estimated and actual cost and adds the response bytes, in one store call.
 *
 * It must be registered after the cost plugin: Apollo runs `didResolveOperation` hooks together,
 * and this one reads `state.cost`, which the cost plugin sets synchronously when its hook starts.
 *
 * Service tokens bypass every limit (no store call at all, so Redis being down cannot refuse
 * them); platform-admin keys have no tenant and so no plan limits. Operations that only ask for
 * `usage` / `rateLimit` are free and answer while the tenant is throttled, under their own cap.
 */
export function createLimitsPlugin(deps: {
  limiter: Limiter;
  overrides: OverridesStore;
  throttleLog: ReturnType<typeof createThrottleLog>;
  observers?: LimitObserver[];
  /** Checks sent at the door for operations seen before (early-check.ts); none: every check here. */
  earlyChecks?: EarlyChecks;
  /** Refusals remembered to answer the caller's next requests at the door (local-refusals.ts). */
  refusals: LocalRefusals;
  /** Counts requests that never reach the limit decision (a parse or validation failure, a refused operation). */
  failedRequests: FailedRequests;
  /**
   * Whether the caller may run this operation at all (a publishable key's root fields): throws
   * the refusal. Runs first, so that a refused operation is charged only as a failed request.
   */
  admit?: (principal: Principal, operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>) => void;
}) {
  const charges = new WeakMap<RequestState, Charge>();
  /** Requests that reached the limit decision (admitted or refused): the others are counted as failed. */
  const decided = new WeakSet<RequestState>();
  const observers = deps.observers ?? [];

  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart({ contextValue }) {
      const principal = contextValue.principal;
      let failed: FailedCharge | null = null;
      return {
        async didResolveOperation(rc) {
          const ctx = rc.contextValue;
          if (!rc.operation) return;
          const fragments: Record<string, FragmentDefinitionNode> = Object.fromEntries(
            rc.document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d]] : [])),
          );
          deps.admit?.(principal, rc.operation, fragments);
          decided.add(ctx.state);
          const rootFields = rootFieldsOf(rc.schema, rc.operation, fragments);
          ctx.state.rootFields = [...new Set(rootFields)];
          ctx.state.operationName = rc.operationName ?? null;
          if (!hasTenant(principal) || principal.kind === 'service') return;
          // As Apollo resolved it, before a dry run below narrows it: what the door may check next time.
          const resolved = { document: rc.document, operation: rc.operation, rootFields };

          const reduced = rateLimitDryRun(rc.operation, rc.request.variables ?? {});
          if (reduced) {
            // Only the rateLimit selections run; the rest is priced, not executed nor charged.
            // (state.dryRun would stop execution altogether: the cost plugin answers those.)
            ctx.state.pricedOnly = true;
            // Apollo executes `requestContext.document` as it stands after this hook; its types
            // mark the field read-only for plugins, hence the cast.
            const writable = rc as unknown as { operation: typeof reduced; document: typeof rc.document };
            writable.operation = reduced;
            writable.document = { ...rc.document, definitions: [reduced, ...Object.values(fragments)] };
          }
          const usageOnly = isUsageOnly(rootFields);
          const docs = ctx.config.limits.documentationUrl;
          const estimate = ctx.state.cost?.requested ?? 0;
          const charge = requestCharge({
            config: ctx.config,
            principal,
            runtime: deps.overrides.get(principal.tenantId),
            ip: ctx.ip,
            rootFields,
            usageOnly,
            pricedOnly: Boolean(ctx.state.dryRun || ctx.state.pricedOnly),
            estimate,
            now: Date.now(),
          });
          const { effective, chargedCost, dims } = charge;
          ctx.state.planId = effective.planId;
          if (charge.overMaximum) {
            ctx.state.throttled = 'max-cost';
            throw costLimitExceededError(charge.overMaximum, effective.planId, docs);
          }
          if (dims.length === 0) return;

          // The check sent at the door for this request, if it was made on these very dimensions;
          // otherwise the door learns the operation for its next requests.
          const early = deps.earlyChecks?.claim(ctx.state.earlyLimitCheck, dims) ?? null;
          // (Not while this instance holds a lease for the tenant: the door sends nothing then, and
          // keying the text costs a copy and a hash of it on every request.)
          if (!early && typeof rc.request.query === 'string' && deps.earlyChecks && !deps.limiter.holdsLease(principal.tenantId)) {
            deps.earlyChecks.remember(rc.request.query, rc.request.operationName, resolved);
          }
          const started = early?.startedAt ?? performance.now();
          const { decision, source } = await (early?.outcome ??
            deps.limiter.consume(
              dims.map((d) => d.store),
              effective.onStoreFailure,
            ));
          for (const observe of observers) {
            observe({ principal, planId: effective.planId, dims, decision, source, durationMs: performance.now() - started });
          }
          if (source === 'unavailable') {
            ctx.state.throttled = 'unavailable';
            throw limitsUnavailableError(effective.planId, 1, docs);
          }

          const headers = rateLimitHeaders(dims, decision.results, decision.now);
          for (const name in headers) rc.response.http.headers.set(name, headers[name]!);
          if (ctx.config.limits.decisionHeader) {
            // For operators and the exactness tests: who decided (Redis or this instance's
            // fallback) and when, on the store clock.
            rc.response.http.headers.set('x-ratelimit-decision', `${source};t=${decision.now}`);
          }
          const costResult = decision.results[costDimensionIndex(dims)];
          if (costResult) {
            ctx.state.costLimit = { limit: costResult.limit, remaining: costResult.remaining, resetAt: isoTime(costResult.resetAt), window: '1 minute' };
          }
          if (!decision.allowed) {
            const refused = decision.results.findIndex((r) => !r.allowed);
            const dimension = dims[refused]!;
            ctx.state.throttled = dimension.kind;
            deps.refusals.remember({ principal, ip: ctx.ip, plan: effective, documentationUrl: docs, dims, decision });
            deps.throttleLog.record({
              tenantId: principal.tenantId,
              plan: effective.planId,
              clientId: principal.clientId,
              ip: ctx.ip,
              operation: rc.operationName ?? null,
              dimension: dimension.kind,
              policy: dimension.policy,
            });
            throw rateLimitedError({ planName: effective.planName, planId: effective.planId, dimension, result: decision.results[refused]!, documentationUrl: docs });
          }
          charges.set(ctx.state, { dims, decision, source, chargedCost });
        },

        // A request answered before its limit decision (it failed to parse or validate, names no
        // operation, or may not run it) still counts against the caller's request limits.
        async didEncounterErrors(rc) {
          if (decided.has(rc.contextValue.state) || failed || !hasTenant(principal) || principal.kind === 'service') return;
          failed = await deps.failedRequests.charge(rc.contextValue.config, principal, rc.contextValue.ip);
          if (failed.refusal) rc.contextValue.state.throttled = String(failed.refusal.extensions['dimension']);
        },

        async willSendResponse(rc) {
          if (!failed) return;
          for (const name in failed.headers) rc.response.http.headers.set(name, failed.headers[name]!);
          // Over the caller's limits: the 429 replaces what the failure would have answered.
          if (failed.refusal) replaceWithError(rc.response, failed.refusal);
        },
      };
    },
  };

  /** After the response is sent: refund unused cost, add response bytes. One store call at most. */
  function settle(state: RequestState, responseBytes: number): void {
    const charge = charges.get(state);
    if (!charge) return;
    charges.delete(state);
    const adjustments: Adjustment[] = [];
    for (const dim of charge.dims) {
      if (dim.store.kind !== 'sliding') continue;
      if (dim.kind === 'cost') {
        const actual = state.cost?.actual;
        if (actual !== undefined && Math.ceil(actual) < charge.chargedCost) {
          adjustments.push({ dimension: dim.store, at: charge.decision.chargedAt ?? charge.decision.now, delta: Math.ceil(actual) - charge.chargedCost });
        }
      } else if (dim.kind === 'bandwidth' && responseBytes > 0) {
        adjustments.push({ dimension: dim.store, at: charge.decision.now, delta: responseBytes });
      }
    }
    void deps.limiter.adjust(adjustments, charge.source);
  }

  /**
   * Rate-limit headers for an authenticated response the plugin did not decide (a parse or
   * validation error, COST_LIMIT_EXCEEDED, a body refused before GraphQL): the caller's request
   * policies as they stand, from one store peek that consumes nothing. Principals that no policy
   * applies to get `X-RateLimit-Exempt` saying why (`service-token`, `platform-admin`, `no-limits`).
   */
  async function headersFor(config: Config, principal: Principal, ip: string): Promise<Record<string, string>> {
    if (principal.kind === 'service') return { [EXEMPT_HEADER]: 'service-token' };
    if (!hasTenant(principal)) return { [EXEMPT_HEADER]: 'platform-admin' };
    const { dims } = requestCharge({
      config,
      principal,
      runtime: deps.overrides.get(principal.tenantId),
      ip,
      rootFields: [],
      usageOnly: false,
      pricedOnly: true,
      estimate: 0,
      now: Date.now(),
    });
    if (dims.length === 0) return { [EXEMPT_HEADER]: 'no-limits' };
    const { decision } = await deps.limiter.peek(dims.map((d) => d.store));
    return rateLimitHeaders(dims, decision.results, decision.now);
  }

  return { plugin, settle, headersFor };
}

/** Makes a response the one error `error` decides (its status and headers from `extensions.http`), as Apollo would have. */
function replaceWithError(response: GraphQLRequestContext<GatewayContext>['response'], error: GatewayError): void {
  const { http, ...extensions } = error.extensions as { http?: { status?: number; headers?: Map<string, string> } } & Record<string, unknown>;
  response.body = { kind: 'single', singleResult: { errors: [{ message: error.message, extensions }] } };
  if (http?.status) response.http.status = http.status;
  for (const [name, value] of http?.headers ?? []) response.http.headers.set(name, value);
}

/** The last ISO time written: requests served from one lease share their reset time. */
let lastIso = { at: Number.NaN, iso: '' };
function isoTime(at: number): string {
  if (at !== lastIso.at) lastIso = { at, iso: new Date(at).toISOString() };
  return lastIso.iso;
}

/** Where the cost-points dimension is among `dims`, -1 if none (a loop: this runs on every request). */
function costDimensionIndex(dims: readonly LimitDimension[]): number {
  for (let i = 0; i < dims.length; i++) if (dims[i]!.kind === 'cost') return i;
  return -1;
}

/** Says that no rate-limit policy applies to this response's caller, and why. */
export const EXEMPT_HEADER = 'x-ratelimit-exempt';
