import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ApolloServer } from '@apollo/server';
import type { Registry } from 'prom-client';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { hasTenant } from '../auth/principal.js';
import type { ConfigSource } from '../config/source.js';
import type { Downstream } from '../downstream/downstream.js';
import { createLoaders } from '../downstream/loaders.js';
import type { GatewayContext, RequestState } from '../graph/context.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import type { EarlyCheck, EarlyChecks } from '../limits/early-check.js';
import type { Logger } from '../observability/logger.js';
import { authenticateHook } from './authenticate-hook.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import { registerCors } from './cors.js';
import { registerIde } from './ide-route.js';
import { originHook } from './origin-hook.js';
import { sendError } from './error-body.js';
import type { RefuseAtDoor } from './counted-refusal.js';
import { registerHealthRoutes, type ReadinessCheck } from './health.js';

/** A client's own request id is kept when it looks like one, so logs join up across systems. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface HttpServerOptions {
  configSource: ConfigSource;
  authenticator: Authenticator;
  downstream: Downstream;
  logger: Logger;
  /** Builds the Apollo Server once Fastify exists (the drain plugin needs the instance). */
  createApollo: (drainPlugin: ReturnType<typeof fastifyApolloDrainPlugin<GatewayContext>>) => ApolloServer<GatewayContext>;
  authGuard: AuthGuard;
  /** Long-lived services every request's context carries (limit overrides, usage reads, ...). */
  services: Pick<GatewayContext, 'overrides' | 'limitsView' | 'usage' | 'audit' | 'health' | 'synthetic' | 'trustedDocuments'>;
  /**
   * `preHandler`s of /graphql, run in this order after the body is read and before Apollo: the
   * cheapest refusals first (a caller refused moments ago, a document past the bounds, trusted
   * documents).
   */
  doorChecks?: ((request: FastifyRequest, reply: FastifyReply) => Promise<unknown>)[];
  /**
   * The limit check sent at the door (limits/early-check.ts): started once the document policy
   * let the request through, released (refunded) when its response went out, or its client left,
   * without the limits plugin having claimed it.
   */
  earlyLimitCheck?: Pick<EarlyChecks, 'start' | 'release'>;
  /** Answers a GraphQL request refused before Apollo (here: an unreadable body), counting it against the caller's limits. */
  refuseAtDoor?: RefuseAtDoor;
  readinessChecks?: ReadinessCheck[];
  /** Rate-limit headers for an authenticated response that has none yet (the limits plugin's `headersFor`). */
  rateLimitHeaders?: (principal: Principal, ip: string) => Promise<Record<string, string>>;
  /** Gets the `gateway_degraded{check}` gauge: the gateway's metrics registry. */
  metricsRegistry?: Registry;
  /**
   * Called once the response to a GraphQL request has been sent (off the response path): limit
   * settlement, metering. `bytes` is the size of the response body.
   */
  afterResponse?: ((state: RequestState, info: { bytes: number; statusCode: number; principal: Principal | undefined }) => void)[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The GraphQL request's plugin state, for the after-response hooks. */
    gatewayState?: RequestState;
    /** The limit check sent at the door for this request, until the limits plugin claims it. */
    earlyLimitCheck?: EarlyCheck;
    responseBytes?: number;
  }
}

/**
 * One Fastify server for every route: `/graphql` (Apollo), `/healthz`, `/readyz`; later issues add
 * `/metrics`, `/dashboard` and `/docs` here. Authentication runs in `onRequest`, before the body
 * is read.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<{ app: FastifyInstance; apollo: ApolloServer<GatewayContext> }> {
  const { configSource, authenticator, downstream, logger } = options;
  const app = Fastify({
    // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per request would flood the log under load; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings) => lazyChildLogger(logger, bindings),
    bodyLimit: configSource.current().server.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Answer keep-alive clients promptly on SIGTERM instead of waiting for idle sockets.
    forceCloseConnections: 'idle',
    trustProxy: configSource.current().server.trustProxy,
  });

  // While draining, responses to in-flight requests close their keep-alive connection: the
  // server stops only once every connection is gone, and an idle keep-alive socket would hold it
  // open until the client's own timeout.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    // Every authenticated response says which rate-limit policies apply (or that none does), also
    // those the limits plugin did not decide. No count is known while the store is down for a
    // fail-closed plan: that 429 carries only Retry-After.
    const fallback = options.rateLimitHeaders;
    if (request.principal && fallback && !reply.hasHeader('ratelimit-policy') && request.gatewayState?.throttled !== 'unavailable') {
      reply.headers(await fallback(request.principal, request.ip).catch(() => ({})));
    }
    if (draining) reply.header('connection', 'close');
    if (request.gatewayState) {
      request.responseBytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? Buffer.byteLength(payload) : 0;
    }
  });
  const afterResponse = options.afterResponse ?? [];
  const early = options.earlyLimitCheck;
  if (early) app.addHook('onRequestAbort', async (request) => early.release(request.earlyLimitCheck));
  app.addHook('onResponse', async (request, reply) => {
    early?.release(request.earlyLimitCheck);
    const state = request.gatewayState;
    if (!state) return;
    const info = { bytes: request.responseBytes ?? 0, statusCode: reply.statusCode, principal: request.principal };
    for (const hook of afterResponse) hook(state, info);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    // A GraphQL request with a body that cannot be read still counts against its caller's limits.
    const refuse = options.refuseAtDoor && request.principal && request.routeOptions.url === '/graphql' ? options.refuseAtDoor : null;
    const answer = (code: 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'BAD_REQUEST', message: string) => (refuse ? refuse(request, reply, code, message) : sendError(reply, code, message));
    if (status === 413) return answer('PAYLOAD_TOO_LARGE', `Request body is larger than ${configSource.current().server.bodyLimitBytes} bytes.`);
    if (status === 415) return answer('UNSUPPORTED_MEDIA_TYPE', `Unsupported content type "${request.headers['content-type'] ?? ''}": send application/json.`);
    if (status >= 400 && status < 500) return answer('BAD_REQUEST', `Bad request: ${error.message}`);
    request.log.error({ err: error, requestId: request.id }, 'unhandled error');
    return sendError(reply, 'INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: request.id });
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));

  // Before every route: CORS must answer preflights ahead of authentication.
  await registerCors(app, () => configSource.current());
  registerHealthRoutes(app, { checks: options.readinessChecks ?? [], ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}) });

  const ideHook = registerIde(app);

  const apollo = options.createApollo(fastifyApolloDrainPlugin<GatewayContext>(app));
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => {
      const principal = request.principal!;
      const state: RequestState = { startedAt: Date.now(), ...(request.earlyLimitCheck ? { earlyLimitCheck: request.earlyLimitCheck } : {}) };
      request.gatewayState = state;
      return {
        requestId: request.id,
        principal,
        ip: request.ip,
        config: configSource.current(),
        downstream,
        loaders: hasTenant(principal) ? createLoaders(downstream, { tenantId: principal.tenantId, requestId: request.id }) : null,
        logger,
        ...options.services,
        state,
      };
    },
  });
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    // GraphiQL for a browser asking for HTML first: the page needs no key.
    onRequest: [ideHook, authenticateHook(authenticator, options.authGuard), originHook(() => configSource.current())],
    preHandler: [
      ...(options.doorChecks ?? []),
      ...(early
        ? [
            async (request: FastifyRequest) => {
              request.earlyLimitCheck = early.start(request) ?? undefined;
            },
          ]
        : []),
    ],
    handler,
  });

  return { app, apollo };
}
