import { DEMO_CONFIG_PATH } from './config/demo.js';
import { createConfigSource, type ConfigSource } from './config/source.js';
import type { Downstream } from './downstream/downstream.js';
import { gatewayCloser } from './gateway-close.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { SampleServices } from './sample-services/start.js';
import type { CloseStep } from './shutdown/close-steps.js';
import type { RedisClient } from './stores/redis.js';
import { createTracing } from './tracing/start.js';
import type { TracingOptions } from './tracing/tracing.js';
import { createAdmissionSide } from './wiring/admission-side.js';
import { startBackgroundJobs } from './wiring/background-jobs.js';
import { createBillingSide } from './wiring/billing-side.js';
import { observeComponents } from './wiring/component-observers.js';
import { createDoorChecks } from './wiring/door-checks.js';
import { createObservedDownstream, startMissingServices } from './wiring/downstream.js';
import { createGatewayHttp, listen } from './wiring/http-server.js';
import { createLimiterParts, createLimitsSide, type FieldCostEstimate } from './wiring/limits-side.js';
import { createMeteringSide } from './wiring/metering-side.js';
import { buildPricedSchema } from './wiring/priced-schema.js';
import { createReplays } from './wiring/replays.js';
import { createGatewayPipeline } from './wiring/request-pipeline.js';
import { openStores } from './wiring/stores.js';

export interface GatewayOptions {
  /** YAML config file; default the demo config. `CONFIG_PATH` in `main.ts`. */
  configPath?: string;
  /** Environment the config reads overrides from (`PORT`, `REDIS_URL`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** How often the config file is re-read, default 5 s. */
  configPollIntervalMs?: number;
  /**
   * The downstream services to use instead of HTTP clients (the cache benchmark's in-process
   * baseline). Default: an HTTP client per service, the embedded sample services for those
   * without a URL.
   */
  downstream?: Downstream;
  /**
   * Where trace spans go besides what `OTEL_TRACES_EXPORTER` names, each as it ends; turns
   * tracing on even without that variable (tests give an in-memory exporter). Default none.
   */
  traceExporter?: TracingOptions['exporter'];
  /**
   * Changes the close steps (tests make one throw or hang: test/shutdown/close-faults.test.ts). Default: the
   * steps as they are.
   */
  closeSteps?: (steps: CloseStep[]) => CloseStep[];
  /** The SDL folder; default `schema/` (tests price with other `@listSize` values: test/calibration/calibration-replay.test.ts). */
  schemaDir?: string;
}

export interface Gateway {
  url: string;
  /** Where `/metrics` is served: the metrics port (`server.metricsPort`), else `url`. */
  metricsUrl: string;
  config: ConfigSource;
  /** The in-process sample services, when the config names no downstream URL for some service. */
  sampleServices: SampleServices | null;
  redis: RedisClient | null;
  /**
   * Drains in-flight requests, then closes everything this gateway opened. Buffered usage is
   * flushed, retrying a slow or failing Redis until `until` (epoch ms; default: one attempt).
   */
  close(options?: { until?: number }): Promise<void>;
}

/**
 * The composition root: config -> stores -> downstream -> schema -> server. Everything the gateway
 * runs on is created here (each part by a function of wiring/) and nowhere else, and closed in
 * reverse order by `close()`.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const { config, initial, logger, tracing, metrics } = await openBasics(options);
  const stores = openStores({ initial, metrics, logger });
  const { redis } = stores;
  // Services without a configured URL are served by the embedded sample services.
  const { sampleServices, urls } = await startMissingServices(initial, options.downstream);
  const metering = await createMeteringSide({ config, initial, redis, sharedLimits: stores.limitsRedis !== null, logger });
  const { alerts, usageStore, meter } = metering;
  const { instances, limiter, fallbackDivisor } = createLimiterParts({ config, initial, stores, record: metering.record, metrics, logger });
  const downstream = options.downstream ?? createObservedDownstream({ urls, initial, limiter, metrics, logger });
  // Before serving: the live-instance count and the store's epoch (see limits/limiter/store-breaker.ts).
  await Promise.all([instances.ready(), limiter.start()]);
  // Called per request, once the schema and its analyzer (below) exist.
  const estimate: FieldCostEstimate = (document, operationName, variables) => costAnalyzer.estimate(document, operationName, variables).fieldCost;
  const limits = createLimitsSide({ config, initial, redis, limiter, alerts, metrics, logger, estimate });
  // Checkout returns to the portal's billing page on this gateway unless billing.returnUrl says otherwise.
  let publicUrl = '';
  const billing = createBillingSide({ config, redis, limits, metering, logger, returnUrl: () => `${publicUrl}/dashboard/#/billing` });
  const schemaDir = options.schemaDir;
  const { schema, costAnalyzer } = await buildPricedSchema({ schemaDir, config, initial, stores, divisor: fallbackDivisor, sampleServices, logger });
  const replays = createReplays({ config, initial, schema, costAnalyzer, redis, record: metering.record, adminOverrides: limits.adminOverrides, logger });
  const door = createDoorChecks({ config, initial, redis, schema, costAnalyzer, limiter, limitsView: limits.limitsView, logger });
  const admission = createAdmissionSide({ config: initial.admission, metrics });
  const pipeline = createGatewayPipeline({
    config,
    logger,
    metrics,
    tracing,
    stores,
    door,
    limiter,
    limits,
    downstream,
    metering,
    billing,
    replays,
    costAnalyzer,
    admission,
  });
  const { app, metricsEndpoint } = await createGatewayHttp({
    config,
    logger,
    pipeline,
    redis,
    metrics,
    tracing,
    schema,
    door,
    limiter,
    limits,
    metering,
    billing,
  });
  const stopObserving = observeComponents({ metrics, meter, limiter, downstream, alerts, usage: usageStore, redis, config, logger });

  const url = await listen(app, initial.server, logger);
  publicUrl = url;
  const stopDemoTraffic = startBackgroundJobs({ url, initial, authenticator: door.authenticator, meteredBilling: billing.meteredBilling, logger });

  const close = gatewayCloser(
    {
      stopDemoTraffic,
      app,
      metricsEndpoint,
      timers: admission.timers,
      config,
      stopObserving,
      meter,
      recorder: { close: async () => metering.record?.close() },
      calibration: replays.calibration,
      stopPlanAudit: billing.stopPlanAudit,
      meteredBilling: billing.meteredBilling,
      billingStore: limits.billingStore,
      tracing,
      alerts,
      overrides: limits.polling,
      limiter,
      instances,
      downstream,
      sampleServices,
      cacheStore: stores.cacheStore,
      redisClients: [redis, stores.limitsRedis, stores.fieldLimitsRedis],
    },
    { adjust: options.closeSteps, logger },
  );
  return { url, metricsUrl: metricsEndpoint.url ?? url, config, sampleServices, redis, close };
}

/** The config source (its first reading as `initial`), the logger, tracing and the metrics registry: what every other part is made with. */
async function openBasics(options: GatewayOptions) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger();
  const config = await createConfigSource({
    path: options.configPath ?? DEMO_CONFIG_PATH,
    env,
    logger,
    ...(options.configPollIntervalMs ? { pollIntervalMs: options.configPollIntervalMs } : {}),
  });
  const initial = config.current();
  // First, so that whatever opens connections below is traced; OTEL_* variables, off by default (tracing/settings.ts).
  const tracing = await createTracing({ env, logger, ...(options.traceExporter ? { exporter: options.traceExporter } : {}) });
  // Before every part that reports into it (it opens nothing).
  const metrics = createMetrics({ tenantLabels: initial.metrics.tenantLabels });
  return { config, initial, logger, tracing, metrics };
}
