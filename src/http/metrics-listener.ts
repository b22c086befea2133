import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';
import { sendNotFound } from './error-body.js';

export interface MetricsListenerOptions {
  port: number;
  host: string;
  logger: Logger;
  /** Registers what this listener serves: `/metrics` and nothing else. */
  routes: (app: FastifyInstance) => void;
}

export interface MetricsListener {
  /** Its base URL with the port it got (`server.metricsPort` 0 picks one), e.g. `http://127.0.0.1:9464`. */
  url: string;
  /** Stops listening once the scrape in flight, if any, is answered. */
  close(): Promise<void>;
}

/**
 * A small Fastify server of its own for the metrics port: none of the public server's hooks
 * (request ids, CORS, authentication, limits, metering), since only a scraper should reach it.
 * Any other path is the public server's 404.
 */
export async function startMetricsListener({ port, host, logger, routes }: MetricsListenerOptions): Promise<MetricsListener> {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'metrics-http' }) as FastifyBaseLogger,
    // One line per scrape would be noise; errors are logged by Fastify's error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Prometheus keeps its connection alive between scrapes: an idle one must not hold the close open.
    forceCloseConnections: 'idle',
  });
  app.setNotFoundHandler(sendNotFound);
  routes(app);
  await app.listen({ port, host });
  const address = app.server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${shownHost}:${address.port}`, close: () => app.close() };
}
