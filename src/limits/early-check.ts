import { LRUCache } from 'lru-cache';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { hasTenant, type Principal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { asksDryRun, DRY_RUN_HEADER } from '../cost/dry-run.js';
import type { LimitDimension } from './dimensions.js';
import { isUsageOnly, rateLimitDryRun } from './free-operations.js';
import type { Limiter, LimiterOutcome } from './limiter.js';
import type { OverridesStore } from './overrides.js';
import { chargeKey } from './charge-key.js';
import { requestCharge } from './request-charge.js';
import type { Adjustment } from './store/types.js';

/**
 * The limit check sent at the door. A lone request used to pay the Redis round trip after
 * Apollo had parsed, validated and priced its operation: the gateway then sat idle for the reply.
 * An operation text seen before (the common case: clients send the same few operations again and
 * again) is already known: its root fields and its compiled cost. So the check of such a request
 * is sent as soon as its body is read, and the reply arrives while Apollo does that work again.
 *
 * Exactness does not depend on the guess. When the operation is resolved, the limit gate
 * computes the request's dimensions as it always did (request-charge.ts) and uses the early
 * decision only if it was made on exactly those keys and amounts; otherwise (a runtime override
 * or a calendar period changed in between), and for a request that never reaches that point (a
 * 406, an aborted connection), the early charge is refunded as a settle is (limiter.adjust): it
 * may make others refuse early for up to a second, never admit more. The request is still one
 * Redis command.
 */
export interface EarlyChecks {
  /** Remembers a resolved operation (the limit gate's decision) for its text's next requests. */
  remember(query: string, operationName: string | null | undefined, known: KnownOperation): void;
  /** After the body is read (Fastify preHandler): sends the check if the operation is known. */
  start(request: DoorRequest): EarlyCheck | null;
  /**
   * The early outcome if `check` was decided on exactly `dims`; null when there was none or it was
   * for other dimensions (then refunded). A check is claimed or released once.
   */
  claim(check: EarlyCheck | undefined, dims: readonly LimitDimension[]): { outcome: Promise<LimiterOutcome>; startedAt: number } | null;
  /** The response went out (or the client left): an unclaimed early charge is refunded. */
  release(check: EarlyCheck | undefined): void;
}

/**
 * One request's early check, carried by the request itself (the Fastify request, then its state's
 * `accepted` stage): never looked up by request id, which a client may choose and repeat.
 */
export interface EarlyCheck {
  readonly dims: LimitDimension[];
  readonly key: string;
  readonly outcome: Promise<LimiterOutcome>;
  readonly startedAt: number;
  /** Claimed by the limit gate or released: nothing more to do with it. */
  done: boolean;
}

/** An operation Apollo resolved, as the limit gate saw it. */
export interface KnownOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  rootFields: string[];
}

/** What the door knows of a request: Fastify's, after authentication and the body. */
export interface DoorRequest {
  principal?: Principal;
  ip: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Early checks counted by what became of them (`limit_early_checks_total{outcome}`). */
export type EarlyOutcome = 'used' | 'refunded';

/** Operation texts remembered: by count, and by characters so long documents cannot fill memory. */
const MAX_OPERATIONS = 2000;
const MAX_TEXT_CHARS = 8_000_000;
/** A document longer than this is not remembered (it would push many others out). */
const MAX_OPERATION_CHARS = 100_000;

export function createEarlyChecks(deps: {
  limiter: Limiter;
  overrides: OverridesStore;
  config: () => Config;
  /** The cost estimate pricing (cost/pricing.ts) would compute for this document and variables. */
  estimate: (document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>) => number;
  onOutcome?: (outcome: EarlyOutcome) => void;
  /** Whether a shadow covers the tenant (src/shadow/): its check must carry the shadow group, so it is made when the operation resolves. */
  shadowed?: (config: Config, tenantId: string, now: number) => boolean;
}): EarlyChecks {
  const known = new LRUCache<string, KnownOperation>({ max: MAX_OPERATIONS, maxSize: MAX_TEXT_CHARS, sizeCalculation: (_value, key) => key.length + 1 });
  const refund = (entry: EarlyCheck): void => {
    deps.onOutcome?.('refunded');
    entry.outcome.then(
      ({ decision, source }) => {
        if (!decision.allowed || source === 'unavailable') return;
        const refunds = entry.dims
          .filter((d) => !d.store.checkOnly && d.store.amount > 0)
          .map((d): Adjustment => ({ dimension: d.store, at: decision.chargedAt ?? decision.now, delta: -d.store.amount, placement: 'at' }));
        // Its byte draw, if a lease served it, goes back whole (no response).
        void deps.limiter.adjust(refunds, source, decision.draw);
      },
      () => {},
    );
  };

  return {
    remember(query, operationName, operation) {
      if (query.length > MAX_OPERATION_CHARS) return;
      const key = textKey(query, operationName);
      // Under load most requests are checked when resolved and land here: known texts stay as they are.
      if (!known.has(key)) known.set(key, operation);
    },

    start(request) {
      // Only while no other check is waiting for Redis. Then the gateway has nothing else to do
      // during the round trip (a lone request): sending at the door hides it. Under load there is
      // always other requests' work to overlap it with, and checks made when operations resolve
      // share socket writes; checking at the door too would only add CPU (measured: ~0.9x the
      // throughput at 32 concurrent).
      if (deps.limiter.checksInFlight() > 0) return null;
      const { principal } = request;
      if (!principal || !hasTenant(principal) || principal.kind === 'service') return null;
      // With a lease on the tenant the check will most likely need no round trip at all: nothing
      // to hide, and computing the charge twice would only cost CPU.
      if (deps.limiter.holdsLease(principal.tenantId)) return null;
      if (deps.shadowed?.(deps.config(), principal.tenantId, Date.now())) return null;
      const body = request.body as { query?: unknown; operationName?: unknown; variables?: unknown; extensions?: unknown } | null;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body.query !== 'string') return null;
      const operationName = typeof body.operationName === 'string' ? body.operationName : undefined;
      if (body.operationName !== undefined && body.operationName !== null && operationName === undefined) return null;
      const variables = body.variables ?? {};
      if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) return null;
      const operation = known.get(textKey(body.query, operationName));
      // Priced-only requests charge nothing: nothing to send early.
      const header = request.headers[DRY_RUN_HEADER];
      if (!operation || asksDryRun(Array.isArray(header) ? header[0] : header, body.extensions)) return null;
      if (rateLimitDryRun(operation.operation, variables as Record<string, unknown>)) return null;
      let estimate: number;
      try {
        estimate = deps.estimate(operation.document, operationName, variables as Record<string, unknown>);
      } catch {
        return null; // Apollo will say what is wrong with the variables
      }
      const usageOnly = isUsageOnly(operation.rootFields);
      const charge = requestCharge({
        config: deps.config(),
        principal,
        runtime: deps.overrides.get(principal.tenantId),
        ip: request.ip,
        rootFields: operation.rootFields,
        usageOnly,
        pricedOnly: false,
        estimate,
        now: Date.now(),
      });
      if (charge.overMaximum || charge.dims.length === 0) return null;
      const startedAt = performance.now();
      const { stores } = charge;
      const outcome = deps.limiter.consume(stores, charge.effective.onStoreFailure);
      // Its failure (only ever a bug: an invalid dimension) reaches whoever claims it; until
      // then it must not count as an unhandled rejection, which would end the process.
      outcome.catch(() => {});
      return { key: chargeKey(stores), dims: charge.dims, startedAt, outcome, done: false };
    },

    claim(check, dims) {
      if (!check || check.done) return null;
      check.done = true;
      if (check.key !== chargeKey(dims.map((d) => d.store))) {
        refund(check);
        return null;
      }
      deps.onOutcome?.('used');
      return { outcome: check.outcome, startedAt: check.startedAt };
    },

    release(check) {
      if (!check || check.done) return;
      check.done = true;
      refund(check);
    },
  };
}

function textKey(query: string, operationName: string | null | undefined): string {
  return `${operationName ?? ''}\n${query}`;
}
