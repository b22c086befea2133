import type { Principal } from '../auth/principal.js';
import type { Alerts, LimitObservation } from '../alerts/alerts.js';
import type { RequestState } from '../graph/context.js';
import type { LimitObserver } from '../limits/limit-observer.js';
import { usageEventOf } from '../usage/capture.js';
import type { Meter } from '../usage/meter.js';
import type { Metrics } from './metrics.js';

/** Dimensions that are per key or per IP inside a tenant: alerts are per tenant, so not these. */
const PER_SUBJECT_POLICIES = new Set(['client-minute', 'ip-minute', 'usage-minute']);

/**
 * What every limit decision feeds: the limit-check latency and throttling metrics, and the 80% /
 * 100% alerts. Cheap and synchronous (the alerts do their own I/O in the background).
 */
export function limitObserver(metrics: Metrics, alerts: Alerts): LimitObserver {
  return ({ principal, planId, dims, decision, source, durationMs }) => {
    metrics.limitCheckDuration.observe({ source }, durationMs / 1000);
    const refused = decision.results.findIndex((r) => !r.allowed);
    if (refused >= 0) metrics.throttled.inc({ plan: planId, dimension: dims[refused]!.kind, tenant: metrics.tenantLabel(principal.tenantId) });
    let results: LimitObservation[] | undefined;
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i]!;
      const r = decision.results[i];
      // Under 80 % of a limit no alert fires (alerts.ts): nothing to pass on, the common case.
      if (!r || r.limit <= 0 || r.used * 5 < r.limit * 4 || PER_SUBJECT_POLICIES.has(d.policy)) continue;
      (results ??= []).push({ policy: d.policy, used: r.used, limit: r.limit, resetAt: r.resetAt, ...(d.store.kind === 'sliding' ? { windowMs: d.store.windowMs } : {}) });
    }
    if (results) alerts.observeLimits({ tenantId: principal.tenantId, planId, results, now: decision.now });
  };
}

/**
 * What every finished GraphQL request feeds, once the response is sent: the usage meter (one
 * in-process aggregate, flushed in the background) and the request metrics.
 */
export function afterResponseObserver(deps: {
  meter: Meter;
  metrics: Metrics;
  planOf: (tenantId: string) => string;
  /** The request's field-cache hits and misses, null when it touched no cached field. */
  cacheReport: (state: RequestState) => { hits: number; misses: number } | null;
}) {
  const { meter, metrics } = deps;
  return (state: RequestState, info: { bytes: number; statusCode: number; principal: Principal | undefined }) => {
    const cache = deps.cacheReport(state);
    const event = usageEventOf(state, info.principal, deps.planOf, {
      bytes: info.bytes,
      statusCode: info.statusCode,
      ...(cache ? { cacheHits: cache.hits, cacheMisses: cache.misses } : {}),
    });
    if (!event) return;
    meter.record(event);
    const tenant = metrics.tenantLabel(event.tenantId);
    const roots = event.rootFields.length > 0 ? event.rootFields : ['none'];
    for (const root of roots) metrics.requests.inc({ plan: event.planId, status: event.status, root_field: root, tenant });
    metrics.requestDuration.observe({ plan: event.planId, status: event.status }, event.latencyMs / 1000);
    if (state.cost) {
      metrics.cost.observe({ kind: 'requested', plan: event.planId }, event.requestedCost);
      if (state.cost.actual !== undefined) metrics.cost.observe({ kind: 'actual', plan: event.planId }, event.actualCost);
    }
  };
}
