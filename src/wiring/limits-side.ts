import type { Alerts } from '../alerts/alerts.js';
import { createMemoryBillingStore, createRedisBillingStore, type BillingStore } from '../billing/billing-store.js';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import { createEarlyChecks, type EarlyChecks } from '../limits/early-check.js';
import { createFailedRequests, type FailedRequests } from '../limits/failed-requests.js';
import { createRedisLink } from '../limits/fallback/redis-link.js';
import { createInstanceRegistry } from '../limits/instances.js';
import { createLimitGate, type LimitGate } from '../limits/limit-gate.js';
import { createLimiter, type Limiter } from '../limits/limiter.js';
import { createLocalRefusals, type LocalRefusals } from '../limits/local-refusals.js';
import { createMemoryOverrides, createRedisOverrides, type OverridesStore } from '../limits/overrides.js';
import { createRedisLimitStore } from '../limits/store/redis-store.js';
import { createThrottleLog } from '../limits/throttle-log.js';
import { createLimitsView, type LimitsView } from '../limits/windows.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestRecordParts } from '../record/request-record-parts.js';
import { createMemoryRuntimeShadows, createRedisRuntimeShadows, type RuntimeShadows } from '../shadow/runtime-shadows.js';
import { createShadows, type Shadows } from '../shadow/shadows.js';
import type { RedisClient } from '../stores/redis.js';
import { withBillingLayer } from './billing-layer.js';
import { limitObserver } from './observers.js';
import type { Stores } from './stores.js';

/** The live instances (the fallback divides limits by them) and the limiter, not started yet. */
export function createLimiterParts(deps: {
  config: ConfigSource;
  initial: Config;
  stores: Pick<Stores, 'redis' | 'limitsRedis'>;
  record: RequestRecordParts | null;
  metrics: Metrics;
  logger: Logger;
}) {
  const { config, initial, metrics, logger } = deps;
  const { limitsRedis } = deps.stores;
  // Limits: the shared store when Redis is configured, with the in-process store as its
  // fallback; the in-process store alone otherwise (one process, full limits).
  const instances = createInstanceRegistry({ redis: deps.stores.redis, heartbeatMs: initial.limits.instanceHeartbeatMs, logger });
  const fallbackDivisor = () => Math.max(instances.count(), config.current().limits.fallbackMinInstances);
  const limiter = createLimiter({
    shared: limitsRedis ? createRedisLimitStore({ redis: limitsRedis }) : null,
    link: limitsRedis ? createRedisLink(limitsRedis) : null,
    divisor: fallbackDivisor,
    config: initial.limits,
    logger,
    onLeaseTokens: (outcome, tokens) => metrics.limitLeaseTokens.inc({ outcome }, tokens),
    ...(deps.record?.fromLimiter ? { onSettled: deps.record.fromLimiter.onSettled, leaseTrail: deps.record.fromLimiter.leaseTrail } : {}),
  });
  return { instances, limiter, fallbackDivisor };
}

/** An operation's field cost as pricing computes it: early checks price at the door. */
export type FieldCostEstimate = Parameters<typeof createEarlyChecks>[0]['estimate'];

export interface LimitsSide {
  billingStore: BillingStore;
  /** An admin's runtime overrides alone (what replays apply). */
  adminOverrides: OverridesStore;
  /** An admin's overrides over the tenants' billing records: what every limit check reads. */
  overrides: OverridesStore;
  runtimeShadows: RuntimeShadows;
  shadows: Shadows;
  /** Absent when `limits.earlyCheck` is off. */
  earlyChecks: EarlyChecks | undefined;
  refusals: LocalRefusals;
  failedRequests: FailedRequests;
  limits: LimitGate;
  limitsView: LimitsView;
  /** The overrides' and runtime shadows' polling, stopped together. */
  polling: { close(): void };
}

/** What decides a request's limits around the limiter: plans in force, shadows, early checks, refusals from memory, the gate. */
export function createLimitsSide(deps: {
  config: ConfigSource;
  initial: Config;
  redis: RedisClient | null;
  limiter: Limiter;
  alerts: Alerts;
  metrics: Metrics;
  logger: Logger;
  estimate: FieldCostEstimate;
}): LimitsSide {
  const { config, initial, redis, limiter, metrics, logger } = deps;
  // A tenant's plan: config, then billing, then an admin's override (billing/plan-in-force.ts).
  // Billing records are re-read every second at most, so a subscription change applies on every
  // instance within 2 s; the admin overrides keep their own interval.
  const billingStore = redis ? createRedisBillingStore({ redis, pollMs: initial.billing.pollMs, logger }) : createMemoryBillingStore();
  const adminOverrides = redis ? createRedisOverrides({ redis, pollMs: initial.limits.overridesPollMs, logger }) : createMemoryOverrides();
  const overrides = withBillingLayer(adminOverrides, billingStore);
  // Shadow limits (src/shadow/): config, then an admin's at run time, re-read as the overrides are.
  const runtimeShadows = redis ? createRedisRuntimeShadows({ redis, pollMs: initial.limits.overridesPollMs, logger }) : createMemoryRuntimeShadows();
  const shadows = createShadows({
    overrides,
    runtime: runtimeShadows,
    onRefusal: (e) => metrics.shadowRefusals.inc({ plan: e.planId, shadow_plan: e.shadowPlanId, policy: e.policy, tenant: metrics.tenantLabel(e.tenantId) }),
  });
  const earlyChecks = initial.limits.earlyCheck
    ? createEarlyChecks({
        limiter,
        overrides,
        config: () => config.current(),
        estimate: deps.estimate,
        onOutcome: (outcome) => metrics.limitEarlyChecks.inc({ outcome }),
        shadowed: shadows.side.covers,
      })
    : undefined;
  // A caller the store refused is answered from memory for a moment (limits/local-refusals.ts);
  // limits changed by a reload apply at once.
  const refusals = createLocalRefusals({ maxMs: initial.limits.localRefusalMaxMs });
  config.onChange(() => refusals.clear());
  const observeLimits = limitObserver(metrics, deps.alerts);
  const failedRequests = createFailedRequests({ limiter, overrides, refusals, observe: observeLimits, shadows: shadows.side });
  const limits = createLimitGate({
    limiter,
    overrides,
    refusals,
    failedRequests,
    shadows: shadows.side,
    throttleLog: createThrottleLog(logger, () => config.current().limits.logsPerTenantPerMinute),
    observers: [observeLimits],
    ...(earlyChecks ? { earlyChecks } : {}),
  });
  const limitsView = createLimitsView({ limiter, overrides });
  // The runtime shadows are polled as the overrides are, and stop with them.
  const polling = {
    close: () => {
      overrides.close();
      runtimeShadows.close();
    },
  };
  return { billingStore, adminOverrides, overrides, runtimeShadows, shadows, earlyChecks, refusals, failedRequests, limits, limitsView, polling };
}
