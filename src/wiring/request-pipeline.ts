import { assertOperationAllowed } from '../auth/publishable-policy.js';
import type { ConfigSource } from '../config/source.js';
import type { CostAnalyzer } from '../cost/analyzer.js';
import type { Downstream } from '../downstream/downstream.js';
import { createRequestPipeline, type RequestPipeline } from '../http/pipeline.js';
import type { Limiter } from '../limits/limiter.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { perIpLimit, recordedRequests } from '../record/capture.js';
import type { Tracing } from '../tracing/tracing.js';
import { requestMetering } from '../usage/capture.js';
import type { AdmissionSide } from './admission-side.js';
import type { BillingSide } from './billing-side.js';
import type { DoorChecks } from './door-checks.js';
import { createHealthView } from './health-view.js';
import type { LimitsSide } from './limits-side.js';
import type { MeteringSide } from './metering-side.js';
import { localRefusalObserver, requestMetrics } from './observers.js';
import type { Replays } from './replays.js';
import type { Stores } from './stores.js';

/**
 * The request path of /graphql, stage by stage: the door, the operation gate (admit, price,
 * decide), what the response carries, settling and metering (http/pipeline.ts); and the
 * long-lived services every request's GraphQL context carries.
 */
export function createGatewayPipeline(deps: {
  config: ConfigSource;
  logger: Logger;
  metrics: Metrics;
  tracing: Tracing;
  stores: Stores;
  door: DoorChecks;
  limiter: Limiter;
  limits: LimitsSide;
  downstream: Downstream;
  metering: MeteringSide;
  billing: BillingSide;
  replays: Replays;
  costAnalyzer: CostAnalyzer;
  admission: AdmissionSide;
}): RequestPipeline {
  const { config, metrics, tracing, door, limiter, limits, downstream, metering, billing, replays, admission } = deps;
  const { earlyChecks, limitsView } = limits;
  const { fieldCache } = deps.stores;
  const { record } = metering;
  const planOf = (tenantId: string) => limitsView.effective(config.current(), tenantId).planId;
  return createRequestPipeline({
    config: () => config.current(),
    logger: deps.logger,
    authenticator: door.authenticator,
    authGuard: door.authGuard,
    refusals: limits.refusals,
    onLocalRefusal: localRefusalObserver(metrics),
    failedRequests: limits.failedRequests,
    trustedDocuments: door.trustedDocuments,
    ...(earlyChecks ? { earlyChecks } : {}),
    downstream,
    ...(tracing.enabled ? { bindTrace: tracing.bindState } : {}),
    services: {
      overrides: limits.overrides,
      shadows: { inForce: limits.shadows.inForce, runtime: limits.runtimeShadows, record: (key) => limiter.shadowRecord(key) },
      limitsView,
      usage: metering.usageStore,
      audit: billing.audit,
      health: createHealthView({ redis: deps.stores.redis, limiter, downstream, admission: admission.view }),
      synthetic: metering.synthetic,
      trustedDocuments: door.trustedDocuments,
      calibration: replays.calibration,
      checkout: billing.checkout,
      meteredBilling: billing.meteredBilling,
      replay: replays.planReplay,
    },
    admit: assertOperationAllowed,
    analyzer: deps.costAnalyzer,
    limits: tracing.traceLimitGate(limits.limits),
    fieldCache,
    ...(admission.admission ? { admission: { admission: admission.admission, planOf, onOutcome: admission.onOutcome } } : {}),
    meter: requestMetering({ meter: metering.meter, planOf, cacheReport: fieldCache.report }),
    ...(replays.calibration.observe ? { calibrate: replays.calibration.observe } : {}),
    ...(record ? { onPriced: record.book.priced } : {}),
    onMetered: record
      ? recordedRequests(requestMetrics(metrics), record.recorder, perIpLimit({ config: () => config.current(), limitsView }), record.settleStamps, record.book)
      : requestMetrics(metrics),
  });
}
