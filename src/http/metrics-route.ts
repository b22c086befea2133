import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

/**
 * `GET /metrics` in Prometheus text format. Not authenticated, like most exporters: bind the
 * gateway so that only the scraper reaches it, or put it behind the proxy's own rules. It holds
 * no tenant data beyond the labels `metrics.tenantLabels` allows.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
