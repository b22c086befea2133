import type { TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { rateLimitHeaders } from './headers.js';
import type { Limiter } from './limiter.js';
import type { LocalRefusals } from './local-refusals.js';
import type { OverridesStore } from './overrides.js';
import type { LimitObserver } from './limit-observer.js';
import { limitsUnavailableError, rateLimitedError } from './rate-limit-error.js';
import { requestOnlyCharge } from './request-charge.js';
import type { ShadowSide } from './shadow-side.js';

/** What counting a request that never reached the limit decision came to. */
export interface FailedCharge {
  /** The caller is over a request limit (or the store is down for a fail-closed plan): answer this 429 instead. */
  refusal: GatewayError | null;
  /** Rate-limit headers after the charge. */
  headers: Record<string, string>;
  /** The plan the request was charged to (after runtime overrides). */
  planId: string;
}

export interface FailedRequests {
  /**
   * Counts a request that is answered without reaching the limit decision (it does not parse or
   * validate, it is past the document bounds, its key may not run it) against the caller's
   * request limits: every request of a key and address counts, whatever its body.
   */
  charge(config: Config, principal: TenantPrincipal, ip: string): Promise<FailedCharge>;
}

/**
 * Requests that fail before the limit decision used to be free, so a refused key could go on
 * sending documents that fail to parse and be answered every time. Such a request is charged as
 * one request (per minute, day, month, per key, per address; no cost points and no per-field
 * limit, as it runs nothing), in one store call like any other, and is answered 429 when that
 * refuses it.
 */
export function createFailedRequests(deps: {
  limiter: Limiter;
  overrides: OverridesStore;
  refusals: LocalRefusals;
  /** Told of every decision, as the limit gate's observers are (metrics, alerts). */
  observe?: LimitObserver;
  /** Shadow limits: such a request counts on a shadow's request counts as on the enforced ones. */
  shadows?: ShadowSide;
}): FailedRequests {
  return {
    async charge(config, principal, ip) {
      const runtime = deps.overrides.get(principal.tenantId);
      const charge = requestOnlyCharge({ config, principal, runtime, ip });
      // One request on every request count, no cost points, no per-field limit; cost and bytes
      // are only checked, which also puts them in the headers.
      const { dims, effective } = charge;
      const planId = effective.planId;
      if (dims.length === 0) return { refusal: null, headers: {}, planId };
      const documentationUrl = config.limits.documentationUrl;
      const started = performance.now();
      // Nothing is known of the operation: the shadow's request counts, as the enforced ones.
      const shadow =
        deps.shadows?.charge({ config, principal, runtime, ip, rootFields: [], pricedOnly: true, estimate: 0, now: Date.now() }, effective) ?? null;
      const { decision, source } = await deps.limiter.consume(
        dims.map((d) => d.store),
        effective.onStoreFailure,
        shadow?.check,
      );
      if (shadow && decision.shadow) shadow.decided(decision.shadow, effective.planId);
      deps.observe?.({ principal, planId: effective.planId, dims, decision, source, durationMs: performance.now() - started });
      // Its response's bytes are not charged: what it drew of a lease's byte reservation goes back whole.
      if (decision.draw) void deps.limiter.adjust([], source, decision.draw);
      if (source === 'unavailable') return { refusal: limitsUnavailableError(effective, 1, documentationUrl), headers: {}, planId };
      const headers = rateLimitHeaders(dims, decision.results, decision.now);
      if (decision.allowed) return { refusal: null, headers, planId };
      const refused = decision.results.findIndex((r) => !r.allowed);
      deps.refusals.remember({ principal, ip, plan: effective, documentationUrl, dims, decision, source });
      return {
        refusal: rateLimitedError({
          planName: effective.planName,
          planId: effective.planId,
          dimension: dims[refused]!,
          result: decision.results[refused]!,
          documentationUrl,
        }),
        headers,
        planId,
      };
    },
  };
}
