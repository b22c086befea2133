import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import { createApollo } from '../graph/apollo.js';
import { registerBillingWebhook } from '../http/billing-webhook-route.js';
import { registerDashboard } from '../http/dashboard-route.js';
import { registerLimitsDocs } from '../http/docs-limits.js';
import type { ReadinessCheck } from '../http/health.js';
import { type MetricsEndpoint, serveMetrics } from '../http/metrics-endpoint.js';
import type { RequestPipeline } from '../http/pipeline.js';
import { createHttpServer } from '../http/server.js';
import { registerUsageCsv } from '../http/usage-csv.js';
import type { Limiter } from '../limits/limiter.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { checkRedis } from '../stores/readiness.js';
import type { RedisClient } from '../stores/redis.js';
import type { Tracing } from '../tracing/tracing.js';
import type { BillingSide } from './billing-side.js';
import type { DoorChecks } from './door-checks.js';
import type { LimitsSide } from './limits-side.js';
import type { MeteringSide } from './metering-side.js';

/**
 * The Fastify server: /graphql behind the request pipeline, /healthz and /readyz (http/server.ts),
 * then the gateway's own routes: /docs/limits, /usage.csv, the billing webhook, /metrics (or the
 * metrics port, http/metrics-endpoint.ts), /dashboard.
 */
export async function createGatewayHttp(deps: {
  config: ConfigSource;
  logger: Logger;
  pipeline: RequestPipeline;
  redis: RedisClient | null;
  metrics: Metrics;
  tracing: Tracing;
  schema: GraphQLSchema;
  door: DoorChecks;
  limiter: Limiter;
  limits: LimitsSide;
  metering: MeteringSide;
  billing: BillingSide;
}): Promise<{ app: FastifyInstance; metricsEndpoint: MetricsEndpoint }> {
  const { config, logger, redis, metrics, tracing, schema, door, limits } = deps;
  const readinessChecks: ReadinessCheck[] = redis
    ? // A failure degrades the instance, it stays ready: it serves with fallback limits (health.ts).
      // On a cluster: the slot map is loaded and every master reports cluster_state:ok.
      [{ name: 'redis', check: () => checkRedis(redis) }]
    : [];
  const { app } = await createHttpServer({
    configSource: config,
    logger,
    pipeline: deps.pipeline,
    readinessChecks,
    metricsRegistry: metrics.registry,
    rateLimitHeaders: (principal, ip) => limits.limits.headersFor(config.current(), principal, ip),
    createApollo: (plugins) => createApollo({ schema, plugins: [...plugins, ...tracing.apolloPlugins] }),
    traceRoute: tracing.traceRoute,
    ...(tracing.enabled ? { endTrace: tracing.endRequest } : {}),
  });
  registerLimitsDocs(app, { schema, configSource: config });
  registerUsageCsv(app, {
    authenticator: door.authenticator,
    authGuard: door.authGuard,
    usage: deps.metering.usageStore,
    limiter: deps.limiter,
    limitsView: limits.limitsView,
    config: () => config.current(),
  });
  registerBillingWebhook(app, { config: () => config.current(), events: deps.billing.billingEvents, logger });
  const metricsEndpoint = await serveMetrics({ app, metrics, config: () => config.current(), logger });
  registerDashboard(app);
  return { app, metricsEndpoint };
}

/** Starts listening on `server.port` and `server.host`; the gateway's URL. */
export async function listen(app: FastifyInstance, server: Config['server'], logger: Logger): Promise<string> {
  await app.listen({ port: server.port, host: server.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url: `${url}/dashboard/` }, 'usage dashboard');
  return url;
}
