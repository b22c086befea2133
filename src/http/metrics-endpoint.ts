import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startMetricsListener } from './metrics-listener.js';
import { registerMetricsRoute } from './metrics-route.js';

export interface MetricsEndpointOptions {
  /** The public server: /metrics goes there when no metrics port is configured. */
  app: FastifyInstance;
  metrics: Metrics;
  config: () => Config;
  logger: Logger;
}

export interface MetricsEndpoint {
  /** The metrics port's base URL; null when /metrics is on the public port. */
  url: string | null;
  /** Closes the metrics port (a close step); nothing to do when /metrics is on the public port. */
  close(): Promise<void>;
}

/**
 * Where `GET /metrics` is served, chosen once at start (`server.metricsPort` is restart-only): on
 * a port of its own when one is configured, and then not on the public port (which answers 404,
 * as for any path it does not serve); on the public port otherwise, as in the quick start, with
 * one warning, since whatever publishes that port publishes the metrics too.
 */
export async function serveMetrics({ app, metrics, config, logger }: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const server = config().server;
  const routes = (target: FastifyInstance) => registerMetricsRoute(target, { metrics, tokenSha256: () => config().server.metricsTokenSha256 });
  if (server.metricsPort === undefined) {
    routes(app);
    logger.warn(
      server.metricsTokenSha256 === undefined
        ? '/metrics is served on the public port without authentication: set server.metricsPort (METRICS_PORT) to serve it on an internal port only, or a token (METRICS_TOKEN)'
        : '/metrics is served on the public port (behind its bearer token): set server.metricsPort (METRICS_PORT) to serve it on an internal port only',
    );
    return { url: null, close: async () => {} };
  }
  const listener = await startMetricsListener({ port: server.metricsPort, host: server.metricsHost ?? server.host, logger, routes });
  logger.info({ url: `${listener.url}/metrics` }, 'metrics port');
  return listener;
}
