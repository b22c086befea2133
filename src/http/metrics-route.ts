import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sha256Hex } from '../config/hash.js';
import type { Metrics } from '../observability/metrics.js';
import { sendError } from './error-body.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
  /**
   * The SHA-256 (lowercase hex) of the bearer token a scrape must send, read on every scrape so a
   * reload applies at once (`server.metricsTokenSha256`); undefined: no token, as most exporters.
   */
  tokenSha256: () => string | undefined;
}

/**
 * `GET /metrics` in Prometheus text format, on the listener it is given (metrics-endpoint.ts
 * chooses the public or the metrics port). It holds no tenant data beyond the labels
 * `metrics.tenantLabels` allows; with a token configured, a scrape without it gets 401.
 */
export function registerMetricsRoute(app: FastifyInstance, { metrics, tokenSha256 }: MetricsRouteOptions): void {
  app.get('/metrics', async (request, reply) => {
    const expected = tokenSha256();
    if (expected !== undefined && !bearerMatches(request.headers.authorization, expected)) {
      // RFC 6750: tells a scraper which scheme to use (Prometheus: `authorization.credentials_file`).
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      return sendError(reply, 'UNAUTHENTICATED', 'GET /metrics needs the metrics token: send `authorization: Bearer <token>` (server.metricsTokenSha256).');
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}

/** Bearer tokens are opaque; this bounds the work done on garbage headers (as the API keys' authenticator). */
const MAX_TOKEN_LENGTH = 512;

/**
 * Hashes of the sent and the configured token, compared in constant time: both are 32 bytes
 * whatever was sent, so the time taken tells nothing about how much of the token matched.
 */
function bearerMatches(header: string | undefined, expectedSha256: string): boolean {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header?.trim() ?? '');
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) return false;
  return timingSafeEqual(Buffer.from(sha256Hex(match[1]!), 'hex'), Buffer.from(expectedSha256, 'hex'));
}
