import { createAdmission, type Admission } from '../admission/admission.js';
import { createAdmissionNow } from '../admission/admission-now.js';
import { createLoopLimit, type LoopLimit } from '../admission/loop-limit.js';
import type { Config } from '../config/schema.js';
import { createLoopLag, type LoopLag } from '../fairness/loop-lag.js';
import type { AdmissionView } from '../graph/context.js';
import type { AdmissionEvent } from '../http/admission-hook.js';
import type { Metrics } from '../observability/metrics.js';
import { admissionGauges, admissionObserver } from './observers.js';

export interface AdmissionSide {
  /** The loop-lag sampler and the adaptive limit, null each when admission is off: stopped at close. */
  timers: [LoopLimit | null, LoopLag | null];
  /** This instance's admission now, for the platform console; null when admission is off. */
  view: () => AdmissionView | null;
  /** Null when admission is off. */
  admission: Admission | null;
  /** Told what became of each request at admission (metrics, and the console's last minute). */
  onOutcome: (event: AdmissionEvent) => void;
}

/**
 * Fair admission: each tenant's own share of the instance, then a fair queue across tenants
 * when the instance is saturated (its limit shrinks while the event loop lags).
 */
export function createAdmissionSide(deps: { config: Config['admission']; metrics: Metrics }): AdmissionSide {
  const { config: admissionConfig, metrics } = deps;
  const loopLag = admissionConfig.enabled ? createLoopLag() : null;
  const loopLimit = loopLag
    ? createLoopLimit({
        min: admissionConfig.minInFlight,
        max: admissionConfig.maxInFlight,
        targetDelayMs: admissionConfig.targetLoopDelayMs,
        delayMs: loopLag.lagMs,
      })
    : null;
  const admission = loopLimit
    ? createAdmission({
        limit: loopLimit.limit,
        maxQueue: admissionConfig.maxQueue,
        maxQueuePerTenant: admissionConfig.maxQueuePerTenant,
        maxWaitMs: admissionConfig.maxWaitMs,
        criticalReservePercent: admissionConfig.criticalReservePercent,
        agePerClassMs: admissionConfig.agePerClassMs,
      })
    : null;
  if (admission) metrics.onCollect(admissionGauges(metrics, admission));
  // Who admission queued, shed or refused in the last minute, per tenant, plan and priority (this instance).
  const admissionNow = createAdmissionNow();
  const view = (): AdmissionView | null => {
    if (!admission) return null;
    const { inFlight, limit, queued, tenantsWaiting } = admission.state();
    return { inFlight, limit, queued, tenantsWaiting, recent: admissionNow.snapshot() };
  };
  const observeAdmission = admissionObserver(metrics);
  return {
    timers: [loopLimit, loopLag],
    view,
    admission,
    onOutcome: (event) => {
      observeAdmission(event);
      admissionNow.record({ tenantId: event.principal.tenantId, planId: event.planId, priority: event.priority, outcome: event.outcome });
    },
  };
}
