import type { AddressInfo } from 'node:net';
import { createAuthenticator } from './auth/authenticator.js';
import { createCacheStore } from './cache/cache-store.js';
import { cachedDirectiveTransformer } from './cache/cached-directive.js';
import { codeVersion, VALUE_CODE_DIRS } from './cache/code-version.js';
import { createFieldCache } from './cache/field-cache.js';
import { createGuardedStore } from './cache/guarded-store.js';
import { DEMO_CONFIG_PATH } from './config/demo.js';
import { SERVICE_NAMES, type Config, type ServiceName } from './config/schema.js';
import { createConfigSource, type ConfigSource } from './config/source.js';
import { createCostAnalyzer } from './cost/analyzer.js';
import { createCalibration } from './calibration/calibration.js';
import { perIpLimit, recordedRequests } from './record/capture.js';
import { createRequestRecordParts } from './record/request-record-parts.js';
import { createPlanReplay } from './replay/plan-replay.js';
import { createReplaySlot } from './replay/replay-slot.js';
import { createDownstream, type Downstream } from './downstream/downstream.js';
import { createApollo } from './graph/apollo.js';
import { buildSchema } from './wiring/build-schema.js';
import type { ReadinessCheck } from './http/health.js';
import { createHttpServer } from './http/server.js';
import { registerLimitsDocs } from './http/docs-limits.js';
import { registerDashboard } from './http/dashboard-route.js';
import { createMemoryAuditLog, createRedisAuditLog } from './audit/limit-changes.js';
import { createHealthView } from './wiring/health-view.js';
import { backfillDemoHistory } from './demo/backfill.js';
import { startLiveTraffic } from './demo/live-traffic.js';
import { createAuthGuard } from './limits/auth-guard.js';
import { fieldRateLimitTransformer } from './limits/field-rate-limit.js';
import { createRedisLink } from './limits/fallback/redis-link.js';
import { createInstanceRegistry } from './limits/instances.js';
import { createEarlyChecks } from './limits/early-check.js';
import { createLimiter } from './limits/limiter.js';
import { createAdmission } from './admission/admission.js';
import { createAdmissionNow } from './admission/admission-now.js';
import type { AdmissionEvent } from './http/admission-hook.js';
import type { AdmissionView } from './graph/context.js';
import { createLoopLimit } from './admission/loop-limit.js';
import { createLoopLag } from './fairness/loop-lag.js';
import { createMemoryOverrides, createRedisOverrides } from './limits/overrides.js';
import { createMemoryBillingStore, createRedisBillingStore } from './billing/billing-store.js';
import { withBillingLayer } from './wiring/billing-layer.js';
import { auditPlanChanges } from './wiring/plan-audit.js';
import { createBillingEvents } from './billing/webhook-events.js';
import { createCheckout } from './billing/checkout.js';
import { stripeClientOf } from './billing/stripe-client.js';
import { createMeteredBilling } from './billing/metered-billing.js';
import { registerBillingWebhook } from './http/billing-webhook-route.js';
import { createLimitGate } from './limits/limit-gate.js';
import { createMemoryRuntimeShadows, createRedisRuntimeShadows } from './shadow/runtime-shadows.js';
import { createShadows } from './shadow/shadows.js';
import { createRedisLimitStore } from './limits/store/redis-store.js';
import { createThrottleLog } from './limits/throttle-log.js';
import { createLimitsView } from './limits/windows.js';
import { createAlerts } from './alerts/alerts.js';
import { serveMetrics } from './http/metrics-endpoint.js';
import { registerUsageCsv } from './http/usage-csv.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { observeComponents } from './wiring/component-observers.js';
import { admissionGauges, admissionObserver, limitObserver, localRefusalObserver, requestMetrics } from './wiring/observers.js';
import { requestMetering } from './usage/capture.js';
import { createMemoryUsageStore } from './usage/memory-usage-store.js';
import { createMeter, createNoopMeter } from './usage/meter.js';
import { createRedisUsageStore } from './usage/redis-usage-store.js';
import { startSampleServices, type SampleServices } from './sample-services/start.js';
import { createRedis, hasRedis, type RedisClient } from './stores/redis.js';
import { gatewayCloseSteps } from './gateway-close.js';
import { runCloseSteps, type CloseStep } from './shutdown/close-steps.js';
import { checkRedis } from './stores/readiness.js';
import { createRequestPipeline } from './http/pipeline.js';
import { assertOperationAllowed } from './auth/publishable-policy.js';
import { createLocalRefusals } from './limits/local-refusals.js';
import { createFailedRequests } from './limits/failed-requests.js';
import { capsOf } from './trusted-documents/caps.js';
import { createMemoryTrustedDocumentStore } from './trusted-documents/memory-store.js';
import { createTrustedDocuments } from './trusted-documents/registry.js';
import { createTracing } from './tracing/start.js';
import type { TracingOptions } from './tracing/tracing.js';
import { createRedisTrustedDocumentStore } from './trusted-documents/redis-store.js';

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
 * runs on is created here and nowhere else, and closed in reverse order by `close()`.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
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

  // One server (redis.url) or a Redis Cluster (redis.cluster): every connection below is the same kind.
  const shared = hasRedis(initial.redis);
  const redis = shared ? createRedis(initial.redis, logger) : null;
  // Limit checks get their own connection, so a slow Redis or a big pipeline on the shared
  // connection never holds a request behind it. Its timeouts are the limiter's own, counted from
  // the write (ioredis's commandTimeout fires before a reply waiting in the socket is read). No
  // auto-pipelining: ioredis keeps one auto-pipeline in flight per connection and queues the
  // next behind it, so on a busy gateway a check would wait to be written until the previous
  // batch's reply was read, and that wait would count against the timeout as if Redis were slow.
  // It reconnects within 250 ms so limits are back on Redis soon after it answers.
  const limitsRedis = shared ? createRedis(initial.redis, logger, { maxReconnectDelayMs: 250 }) : null;
  // @rateLimit fields (graphql-rate-limit-directive) have no timeout of their own: a command timeout.
  const fieldLimitsRedis = shared ? createRedis(initial.redis, logger, { commandTimeoutMs: initial.limits.storeTimeoutMs }) : null;
  // The field cache: keyv over its own Redis connection (@keyv/redis), or a bounded in-process LRU.
  const cacheStore = initial.cache.enabled ? createCacheStore({ redis: initial.redis, config: initial.cache, logger }) : null;
  const fieldCache = createFieldCache({
    store: cacheStore ? createGuardedStore({ store: cacheStore, config: initial.cache, logger }) : null,
    logger,
    // Called per cached field at request time, when `metrics` (created below) exists.
    onResult: (field, result) => metrics.cacheRequests.inc({ field, result }),
    onRefused: (field, reason) => metrics.cacheRefused.inc({ field, reason }),
  });

  // Services without a configured URL are served by the embedded sample services.
  const missing = options.downstream ? [] : SERVICE_NAMES.filter((name) => !initial.downstream[name].url);
  const sampleServices = missing.length > 0 ? await startSampleServices() : null;
  const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, initial.downstream[name].url ?? sampleServices?.urls[name]])) as Record<
    ServiceName,
    string
  >;
  // Observability and metering: metrics registry, alerts (log + optional signed webhook), and the
  // usage meter, buffered in process and flushed to Redis (or kept in memory) every second.
  const metrics = createMetrics({ tenantLabels: initial.metrics.tenantLabels });
  const webhookOf = (a: Config['alerts']) => (a.webhookUrl ? { url: a.webhookUrl, secret: a.webhookSecret! } : null);
  const alerts = createAlerts({ logger, redis, webhook: webhookOf(initial.alerts) });
  // The webhook follows config reloads (src/config/reload-scope.ts lists it as live).
  config.onChange((next, previous) => {
    if (next.alerts.webhookUrl !== previous.alerts.webhookUrl || next.alerts.webhookSecret !== previous.alerts.webhookSecret) {
      alerts.setWebhook(webhookOf(next.alerts));
    }
  });
  const usageStore = redis ? createRedisUsageStore({ redis }) : createMemoryUsageStore();
  const meter = initial.usage.enabled ? createMeter({ store: usageStore, intervalMs: initial.usage.flushIntervalMs, logger }) : createNoopMeter();
  // The request record (record/RECORD.md): what limits saw, per request, for replay; written like the usage.
  const record = createRequestRecordParts({ config: initial.record, redis, sharedLimits: limitsRedis !== null, logger });
  // The demo's synthetic month (config demo.backfillDays): only into the in-memory store, never
  // into a Redis that real instances share. The pages label the span it covers.
  if (initial.demo.backfillDays > 0 && redis) logger.warn('demo.backfillDays is ignored with Redis: synthetic history goes only into the in-memory store');
  const synthetic =
    initial.demo.backfillDays > 0 && !redis
      ? await backfillDemoHistory({ store: usageStore, config: initial, days: initial.demo.backfillDays, now: Date.now() })
      : null;

  // Limits: the shared store when Redis is configured, with the in-process store as its
  // fallback; the in-process store alone otherwise (one process, full limits).
  const instances = createInstanceRegistry({ redis, heartbeatMs: initial.limits.instanceHeartbeatMs, logger });
  const fallbackDivisor = () => Math.max(instances.count(), config.current().limits.fallbackMinInstances);
  const limiter = createLimiter({
    shared: limitsRedis ? createRedisLimitStore({ redis: limitsRedis }) : null,
    link: limitsRedis ? createRedisLink(limitsRedis) : null,
    divisor: fallbackDivisor,
    config: initial.limits,
    logger,
    // Called on requests, when `metrics` (created below) exists.
    onLeaseTokens: (outcome, tokens) => metrics.limitLeaseTokens.inc({ outcome }, tokens),
    ...(record?.settleStamps ? { onSettled: record.settleStamps.settled } : {}),
  });
  const downstream =
    options.downstream ??
    createDownstream({
      urls,
      config: initial.downstream,
      logger,
      observer: ({ service, durationMs, error }) => {
        metrics.downstreamDuration.observe({ service, outcome: error ? 'error' : 'ok' }, durationMs / 1000);
        if (error) metrics.downstreamErrors.inc({ service, code: error });
      },
      // Services' rateLimit budgets are kept fleet-wide by the same limiter as the plans' limits.
      limiter,
      queueObserver: ({ service, priority, plan, waitedMs, reason }) => {
        if (reason) metrics.downstreamShed.inc({ service, priority, plan, reason });
        else metrics.downstreamQueueWait.observe({ service, priority, plan }, waitedMs / 1000);
      },
    });
  // Before serving: the live-instance count and the store's epoch (see limits/limiter/store-breaker.ts).
  await Promise.all([instances.ready(), limiter.start()]);
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
    // Called on requests, when `metrics` (created below) exists.
    onRefusal: (e) => metrics.shadowRefusals.inc({ plan: e.planId, shadow_plan: e.shadowPlanId, policy: e.policy, tenant: metrics.tenantLabel(e.tenantId) }),
  });
  const earlyChecks = initial.limits.earlyCheck
    ? createEarlyChecks({
        limiter,
        overrides,
        config: () => config.current(),
        // Called per request, once the schema and its analyzer (below) exist.
        estimate: (document, operationName, variables) => costAnalyzer.estimate(document, operationName, variables).fieldCost,
        onOutcome: (outcome) => metrics.limitEarlyChecks.inc({ outcome }),
        shadowed: shadows.side.covers,
      })
    : undefined;
  // A caller the store refused is answered from memory for a moment (limits/local-refusals.ts);
  // limits changed by a reload apply at once.
  const refusals = createLocalRefusals({ maxMs: initial.limits.localRefusalMaxMs });
  config.onChange(() => refusals.clear());
  const observeLimits = limitObserver(metrics, alerts);
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
  const auditPolicy = () => config.current().audit;
  const audit = redis ? createRedisAuditLog(redis, auditPolicy) : createMemoryAuditLog(auditPolicy);
  const stopPlanAudit = auditPlanChanges({ config, overrides, audit, logger });
  // Stripe: webhooks move tenants' billing records; the client (when a key is configured) reads
  // subscriptions back and opens Checkout and portal sessions.
  const stripe = stripeClientOf(() => config.current().billing);
  const billingEvents = createBillingEvents({ store: billingStore, audit, alerts, config: () => config.current(), stripe, logger });
  // Usage-based billing: closed hours of the usage history become Stripe meter events through a
  // durable outbox in Redis; a reconciliation pass compares them with Stripe's summaries.
  const meteredBilling = createMeteredBilling({ redis, usage: usageStore, billingStore, stripe, billing: () => config.current().billing, logger });
  // Checkout returns to the portal's billing page on this gateway unless billing.returnUrl says otherwise.
  let publicUrl = '';
  const checkout = createCheckout({ store: billingStore, stripe, config: () => config.current(), returnUrl: () => `${publicUrl}/dashboard/#/billing` });
  // Admission is built below; the console reads it only once requests are served.
  const health = createHealthView({ redis, limiter, downstream, admission: () => admissionView() });

  const schema = await buildSchema({
    ...(options.schemaDir ? { schemaDir: options.schemaDir } : {}),
    config: initial,
    rateLimit: fieldRateLimitTransformer({
      redis: fieldLimitsRedis,
      divisor: fallbackDivisor,
      documentationUrl: () => config.current().limits.documentationUrl,
    }),
    // Which backends fields read from, the code that produces values and the operator's bump are
    // part of the cache keys' version: any of them changing starts from empty keys.
    cache: cachedDirectiveTransformer({
      fieldCache,
      outputConfig: {
        ...Object.fromEntries(SERVICE_NAMES.map((name) => [name, initial.downstream[name].url ?? 'embedded'])),
        code: codeVersion(sampleServices ? [...VALUE_CODE_DIRS, 'sample-services'] : VALUE_CODE_DIRS),
        version: initial.cache.version,
      },
      logger,
    }),
  });
  // Validates @cost/@listSize at start: a wrong directive stops the gateway here.
  const costAnalyzer = createCostAnalyzer({ schema });
  if (costAnalyzer.warnings.length > 0) {
    logger.warn({ fields: costAnalyzer.warnings }, 'list fields without @listSize are priced at the default list size');
  }
  // Cost calibration: list lengths returned against the sizes the estimate priced (calibration/).
  // One replay at a time per instance, of either kind (What if, cost calibration's).
  const replaySlot = createReplaySlot();
  const calibration = createCalibration({
    ...initial.calibration,
    schema,
    analyzer: costAnalyzer,
    redis,
    logger,
    record: record ? { store: record.store, operations: record.operations } : null,
    config: () => config.current(),
    overrides: () => adminOverrides.list(),
    replaySlot,
  });
  // Trusted documents: registered by tenant admins, shared through Redis when there is one,
  // capped per tenant by its plan in force (a runtime plan override included).
  const trustedDocuments = createTrustedDocuments({
    store: redis ? createRedisTrustedDocumentStore(redis) : createMemoryTrustedDocumentStore(),
    schema,
    analyzer: costAnalyzer,
    bounds: () => config.current().server.documentLimits,
    caps: (tenantId) => {
      const current = config.current();
      return capsOf(current, limitsView.effective(current, tenantId).planId);
    },
  });
  // A publishable key is public: without rootFields or trustedDocumentsOnly, whoever reads the page
  // may run every operation its role allows. Allowed (a storefront may need it), but said.
  const unbound = initial.publishableKeys.filter((k) => !k.rootFields && !k.trustedDocumentsOnly).map((k) => k.id);
  if (unbound.length > 0) logger.warn({ keys: unbound }, 'publishable keys without rootFields or trustedDocumentsOnly may run any operation their role allows');
  const authenticator = createAuthenticator(() => config.current());
  const authGuard = createAuthGuard({ limiter, perMinute: () => config.current().limits.authFailuresPerIpPerMinute });
  const readinessChecks: ReadinessCheck[] = redis
    ? // A failure degrades the instance, it stays ready: it serves with fallback limits (health.ts).
      // On a cluster: the slot map is loaded and every master reports cluster_state:ok.
      [{ name: 'redis', check: () => checkRedis(redis) }]
    : [];
  // Fair admission: each tenant's own share of the instance, then a fair queue across tenants
  // when the instance is saturated (its limit shrinks while the event loop lags).
  const admissionConfig = initial.admission;
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
  const admissionView = (): AdmissionView | null => {
    if (!admission) return null;
    const { inFlight, limit, queued, tenantsWaiting } = admission.state();
    return { inFlight, limit, queued, tenantsWaiting, recent: admissionNow.snapshot() };
  };
  const observeAdmission = admissionObserver(metrics);
  // The request path of /graphql, stage by stage: the door, the operation gate (admit, price,
  // decide), what the response carries, settling and metering (http/pipeline.ts).
  const pipeline = createRequestPipeline({
    config: () => config.current(),
    logger,
    authenticator,
    authGuard,
    refusals,
    onLocalRefusal: localRefusalObserver(metrics),
    failedRequests,
    trustedDocuments,
    ...(earlyChecks ? { earlyChecks } : {}),
    downstream,
    ...(tracing.enabled ? { bindTrace: tracing.bindState } : {}),
    services: {
      overrides,
      shadows: { inForce: shadows.inForce, runtime: runtimeShadows, record: (key) => limiter.shadowRecord(key) },
      limitsView,
      usage: usageStore,
      audit,
      health,
      synthetic,
      trustedDocuments,
      calibration,
      checkout,
      meteredBilling,
      replay: createPlanReplay({ store: record?.store ?? null, config: () => config.current(), overrides: () => adminOverrides.list(), slot: replaySlot }),
    },
    admit: assertOperationAllowed,
    analyzer: costAnalyzer,
    limits: tracing.traceLimitGate(limits),
    fieldCache,
    ...(admission
      ? {
          admission: {
            admission,
            planOf: (tenantId: string) => limitsView.effective(config.current(), tenantId).planId,
            onOutcome: (event: AdmissionEvent) => {
              observeAdmission(event);
              admissionNow.record({ tenantId: event.principal.tenantId, planId: event.planId, priority: event.priority, outcome: event.outcome });
            },
          },
        }
      : {}),
    meter: requestMetering({ meter, planOf: (tenantId) => limitsView.effective(config.current(), tenantId).planId, cacheReport: fieldCache.report }),
    ...(calibration.observe ? { calibrate: calibration.observe } : {}),
    ...(record ? { onPriced: record.book.priced } : {}),
    onMetered: record
      ? recordedRequests(requestMetrics(metrics), record.recorder, perIpLimit({ config: () => config.current(), limitsView }), record.settleStamps, record.book)
      : requestMetrics(metrics),
  });
  const { app } = await createHttpServer({
    configSource: config,
    logger,
    pipeline,
    readinessChecks,
    metricsRegistry: metrics.registry,
    rateLimitHeaders: (principal, ip) => limits.headersFor(config.current(), principal, ip),
    createApollo: (plugins) => createApollo({ schema, plugins: [...plugins, ...tracing.apolloPlugins] }),
    traceRoute: tracing.traceRoute,
  });
  registerLimitsDocs(app, { schema, configSource: config });
  registerUsageCsv(app, { authenticator, authGuard, usage: usageStore, limiter, limitsView, config: () => config.current() });
  registerBillingWebhook(app, { config: () => config.current(), events: billingEvents, logger });
  const metricsEndpoint = await serveMetrics({ app, metrics, config: () => config.current(), logger });
  registerDashboard(app);
  const stopObserving = observeComponents({ metrics, meter, limiter, downstream, alerts, usage: usageStore, redis, config, logger });

  await app.listen({ port: initial.server.port, host: initial.server.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  publicUrl = url;
  logger.info({ url: `${url}/dashboard/` }, 'usage dashboard');
  meteredBilling.start();
  const stopDemoTraffic = initial.demo.liveTraffic
    ? startLiveTraffic({ url, authenticator, requestsPerMinute: initial.demo.liveRequestsPerMinute, logger })
    : () => {};

  let closeUntil: number | undefined;
  const steps = gatewayCloseSteps({
    stopDemoTraffic,
    app,
    metricsEndpoint,
    timers: [loopLimit, loopLag],
    config,
    stopObserving,
    meter,
    recorder: { close: async () => record?.close() },
    calibration,
    stopPlanAudit,
    meteredBilling,
    billingStore,
    tracing,
    alerts,
    // The runtime shadows are polled as the overrides are, and stop with them.
    overrides: {
      close: () => {
        overrides.close();
        runtimeShadows.close();
      },
    },
    limiter,
    instances,
    downstream,
    sampleServices,
    cacheStore,
    redisClients: [redis, limitsRedis, fieldLimitsRedis],
    until: () => closeUntil,
  });
  const closeSteps = options.closeSteps ? options.closeSteps(steps) : steps;
  let closing: Promise<void> | undefined;
  return {
    url,
    metricsUrl: metricsEndpoint.url ?? url,
    config,
    sampleServices,
    redis,
    close({ until }: { until?: number } = {}) {
      if (closing) return closing;
      closeUntil = until;
      closing = runCloseSteps(closeSteps, {
        ...(until === undefined ? {} : { until }),
        onFailure: (step, reason, err) => logger.error({ step, reason, err }, 'close step failed; closing the rest'),
      });
      return closing;
    },
  };
}
