import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { corsOrigins, type RequestOrigin } from '../auth/origin-policy.js';
import type { Config } from '../config/schema.js';
import type { DoorStep } from './door-steps.js';
import { sendError } from './error-body.js';

/** The routes browsers call with a key; other routes answer no CORS (pages of this origin only). */
const API_PATHS = new Set(['/graphql', '/usage.csv']);

/** What page script may send: the key, JSON bodies, a request id to join logs, a dry run. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'accept', 'x-request-id', 'x-cost-dry-run', 'apollo-require-preflight'];

/** What page script may read: the limits it should pace itself by, and the request id to report. */
export const CORS_EXPOSED_HEADERS = [
  'ratelimit',
  'ratelimit-policy',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-ratelimit-exempt',
  'retry-after',
  'x-request-id',
];

/** The `Origin` of a request and whether it is the gateway's own (Sec-Fetch-Site, else Host). */
export function requestOrigin(request: FastifyRequest): RequestOrigin {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  const own = `${request.protocol}://${request.host}`;
  return { origin, sameOrigin: origin !== undefined && (site === 'same-origin' || origin === own) };
}

/** The request's path, without its query string (no array made: this runs on every request). */
function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * CORS for browser apps: @fastify/cors answers the API's preflights; `corsStep` (the first door
 * step of each API route: /graphql, /usage.csv) answers their actual requests, before
 * authentication (a preflight carries no Authorization header). The origins answered are those
 * some tenant or publishable key names (`corsOrigins`), read from the live config. Which key may
 * be used from which of them is checked after authentication (auth/origin-policy.ts). An origin
 * nobody names gets 403 ORIGIN_NOT_ALLOWED on the API routes, preflight or not, so the refusal is
 * in the network log rather than a bare "Failed to fetch"; page script cannot read it, as CORS
 * requires. Other routes (pages, probes, /metrics) answer no CORS, so no other origin's script
 * can read them.
 */
export function corsStep(getConfig: () => Config): DoorStep {
  const exposed = CORS_EXPOSED_HEADERS.join(', ');
  return (request, reply) => {
    // Most requests (server to server) send no Origin; the gateway's own pages are never listed.
    const origin = request.headers.origin;
    const foreign = origin !== undefined && !requestOrigin(request).sameOrigin;
    if (!foreign || corsOrigins(getConfig()).has(origin)) {
      // An actual request (preflights are the plugin's, on its OPTIONS route) varies by Origin; an allowed one is echoed.
      if (request.method !== 'OPTIONS') {
        reply.header('vary', 'Origin');
        if (foreign) reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', exposed);
      }
      return;
    }
    return sendError(
      reply,
      'ORIGIN_NOT_ALLOWED',
      `Origin ${origin} may not call this gateway: no tenant lists it (tenants.<id>.cors.allowedOrigins for secret keys, publishableKeys[].allowedOrigins for publishable keys).`,
      { origin },
    );
  };
}

/**
 * The API's preflights: @fastify/cors with its `OPTIONS *` route, in a context of its own, so its
 * hooks run for that route only. Registered for the whole server (as the plugin is by default),
 * its hook and a copy of every route's config had run on every request of every route, about
 * 2 µs each; and a global hook of ours for the API's actual requests is now their first door step.
 */
export async function registerCors(app: FastifyInstance, getConfig: () => Config): Promise<void> {
  const step = corsStep(getConfig);
  await app.register(async (preflights) => {
    // An unknown foreign origin's preflight to an API path is refused here, ahead of the plugin.
    preflights.addHook('onRequest', (request, reply, done) => {
      if (!API_PATHS.has(pathOf(request)) || step(request, reply) === undefined) done();
    });
    // Static options, so the plugin prepares them once: a `delegator` made it copy and normalize
    // them on every request (about 8 µs each, in a CPU profile of a flooded gateway).
    const maxAge = getConfig().cors.preflightMaxAgeSeconds;
    await preflights.register(cors, {
      hook: 'onRequest',
      // The exact origin is echoed (never `*`), with Vary: Origin, so caches keep answers apart.
      // The same origin as the gateway's own pages is never listed, so gets no CORS headers.
      origin: (origin, callback) => callback(null, origin !== undefined && corsOrigins(getConfig()).has(origin) ? origin : false),
      methods: ['GET', 'POST'],
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      // Keys travel in Authorization, never in cookies: no credentialed requests.
      credentials: false,
      maxAge,
      cacheControl: maxAge,
    });
    // cors.preflightMaxAgeSeconds follows config reloads (src/config/reload-scope.ts lists it as live).
    preflights.addHook('onSend', (_request, reply, _payload, done) => {
      if (reply.hasHeader('access-control-max-age')) {
        const live = getConfig().cors.preflightMaxAgeSeconds;
        if (live !== maxAge) {
          reply.header('access-control-max-age', String(live));
          reply.header('cache-control', `max-age=${live}`);
        }
      }
      done();
    });
  });
}
