import type { Alerts, LimitObservation } from '../alerts/alerts.js';
import type { RequestState } from '../graph/request-state.js';
import type { TenantPrincipal } from '../auth/principal.js';
import type { LimitObserver } from '../limits/limit-observer.js';
import type { LocalRefusal } from '../limits/local-refusals.js';
import type { UsageEvent } from '../usage/event.js';
import type { Admission } from '../admission/admission.js';
import type { AdmissionEvent } from '../http/admission-hook.js';
import type { LocalRefusalDoor } from '../http/remembered-refusal.js';
import type { Metrics } from '../observability/metrics.js';

/** Dimensions that are per key or per IP inside a tenant: alerts are per tenant, so not these. */
const PER_SUBJECT_POLICIES = new Set(['client-minute', 'ip-minute', 'usage-minute']);

/**
 * What every limit decision feeds: the limit-check latency and throttling metrics, and the 80% /
 * 100% alerts. Cheap and synchronous (the alerts do their own I/O in the background).
 */
export function limitObserver(metrics: Metrics, alerts: Alerts): LimitObserver {
  return ({ principal, planId, dims, decision, source, durationMs }) => {
    metrics.limitCheckDuration.observe({ source }, durationMs / 1000);
    if (decision.heldMs) metrics.throttleDelay.observe({ plan: planId }, decision.heldMs / 1000);
    const refused = decision.results.findIndex((r) => !r.allowed);
    if (refused >= 0) metrics.throttled.inc({ plan: planId, dimension: dims[refused]!.kind, tenant: metrics.tenantLabel(principal.tenantId) });
    let results: LimitObservation[] | undefined;
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i]!;
      const r = decision.results[i];
      // Under 80 % of a limit no alert fires (alerts.ts): nothing to pass on, the common case.
      if (!r || r.limit <= 0 || r.used * 5 < r.limit * 4 || PER_SUBJECT_POLICIES.has(d.policy)) continue;
      results ??= [];
      results.push({
        policy: d.policy,
        used: r.used,
        limit: r.limit,
        resetAt: r.resetAt,
        ...(d.store.kind === 'sliding' ? { windowMs: d.store.windowMs } : {}),
      });
    }
    if (results) alerts.observeLimits({ tenantId: principal.tenantId, planId, results, now: decision.now });
  };
}

/** A refusal answered from memory at the door counts as a local refusal and as a throttled request, as the store's would. */
export function localRefusalObserver(metrics: Metrics) {
  return (principal: TenantPrincipal, refusal: LocalRefusal, door: LocalRefusalDoor) => {
    metrics.limitLocalRefusals.inc({ door });
    metrics.throttled.inc({ plan: refusal.planId, dimension: refusal.dimension, tenant: metrics.tenantLabel(principal.tenantId) });
  };
}

/**
 * The request metrics of every metered GraphQL request, once the response is sent (the usage
 * event has already gone to the meter: usage/capture.ts).
 */
export function requestMetrics(metrics: Metrics) {
  return (event: UsageEvent, state: RequestState) => {
    const tenant = metrics.tenantLabel(event.tenantId);
    const roots = event.rootFields.length > 0 ? event.rootFields : ['none'];
    for (const root of roots) metrics.requests.inc({ plan: event.planId, status: event.status, root_field: root, tenant });
    metrics.requestDuration.observe({ plan: event.planId, status: event.status }, event.latencyMs / 1000);
    if (state.priced) {
      // A refused operation consumed nothing: its estimate is its own kind, so a 50,000-point
      // refusal does not count as work asked of the gateway (as the usage counters keep it apart).
      metrics.cost.observe({ kind: event.status === 'throttled' ? 'refused' : 'requested', plan: event.planId }, event.requestedCost);
      if (state.answered?.actualCost != null) {
        metrics.cost.observe({ kind: 'actual', plan: event.planId }, event.actualCost);
        if (event.actualCost > 0) metrics.costRatio.observe({ plan: event.planId }, event.requestedCost / event.actualCost);
      }
    }
  };
}

/** What became of each request at admission: its wait, or why it was not admitted. */
export function admissionObserver(metrics: Metrics) {
  return ({ planId, priority, outcome }: AdmissionEvent) => {
    if (outcome.admitted) metrics.admissionWait.observe({ priority, plan: planId }, outcome.waitedMs / 1000);
    else metrics.admissionRefused.inc({ priority, plan: planId, reason: outcome.reason });
  };
}

/** The admission gauges, read when /metrics is scraped. */
export function admissionGauges(metrics: Metrics, admission: Admission) {
  return () => {
    const state = admission.state();
    metrics.admissionInFlight.set(state.inFlight);
    metrics.admissionLimit.set(state.limit);
    for (const [priority, queued] of Object.entries(state.queuedByPriority)) metrics.admissionQueueDepth.set({ priority }, queued);
  };
}
