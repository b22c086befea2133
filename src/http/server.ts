import { transportHook } from './transport-hook.js';
import { apolloHandler } from './apollo-handler.js';
import { declareRequestFields } from './request-fields.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyServerFactory,
  type FastifyRequest,
} from 'fastify';
import type { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import type { Registry } from 'prom-client';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { Principal } from '../auth/principal.js';
import type { ConfigSource } from '../config/source.js';
import type { GatewayContext } from '../graph/context.js';
import type { Logger } from '../observability/logger.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import { corsStep, registerCors } from './cors.js';
import { EXEMPT_HEADER } from '../limits/limit-gate.js';
import { doorHook } from './door-steps.js';
import { registerIde } from './ide-route.js';
import { sendError, sendNotFound } from './error-body.js';
import { registerHealthRoutes, type ReadinessCheck } from './health.js';
import type { RequestPipeline } from './pipeline.js';
import { requestIdOf } from './request-id.js';

export interface HttpServerOptions {
  configSource: ConfigSource;
  logger: Logger;
  /** What happens to a request on /graphql, stage by stage (pipeline.ts). */
  pipeline: RequestPipeline;
  /** Builds the Apollo Server once Fastify exists, with these plugins (the drain plugin needs the instance). */
  createApollo: (plugins: ApolloServerPlugin<GatewayContext>[]) => ApolloServer<GatewayContext>;
  readinessChecks?: ReadinessCheck[];
  /** Rate-limit headers for an authenticated response that has none yet (the limit gate's `headersFor`). */
  rateLimitHeaders?: (principal: Principal, ip: string) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /** Gets the `gateway_degraded{check}` gauge: the gateway's metrics registry. */
  metricsRegistry?: Registry;
  /** Wraps the `/graphql` route's hooks and handler in its trace spans (tracing/route-spans.ts); default: untraced. */
  traceRoute?: <Route extends object>(route: Route) => Route;
  /** Ends a traced request's server span once its response is sent (tracing/route-spans.ts); default: untraced. */
  endTrace?: (request: FastifyRequest, statusCode: number) => void;
}

/**
 * One Fastify server for every route: `/graphql` (Apollo, behind the request path of
 * pipeline.ts), `/healthz`, `/readyz`; wiring/http-server.ts adds `/dashboard`, `/docs`,
 * `/usage.csv`, the billing webhook and `/metrics` (unless it has a port of its own:
 * metrics-endpoint.ts). What is common to every route is here: request ids, CORS, error answers,
 * draining.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<{ app: FastifyInstance; apollo: ApolloServer<GatewayContext> }> {
  const { configSource, logger, pipeline } = options;
  // While draining, responses to in-flight requests close their keep-alive connection: the
  // server stops only once every connection is gone, and an idle keep-alive socket would hold it
  // open until the client's own timeout.
  let draining = false;
  const trustProxy = configSource.current().server.trustProxy;
  const frontDoor = pipeline.frontDoor?.({ trustProxy, requestId: requestIdOf, draining: () => draining });
  const app = Fastify({
    // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per request would flood the log under load; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings) => lazyChildLogger(logger, bindings),
    bodyLimit: configSource.current().server.bodyLimitBytes,
    genReqId: (req) => requestIdOf(req.headers),
    // Answer keep-alive clients promptly on SIGTERM instead of waiting for idle sockets.
    forceCloseConnections: 'idle',
    trustProxy,
    // Refusals from memory are answered before Fastify takes the request (front-door.ts).
    ...(frontDoor
      ? { serverFactory: ((handler, settings) => serverWith(frontDoor.listener(handler), settings as ServerSettings)) as FastifyServerFactory }
      : {}),
  });

  declareRequestFields(app);
  app.addHook('preClose', async () => {
    draining = true;
  });
  // Callback-style hooks: on every request of every route, so no promise where nothing waits.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    if (draining) reply.header('connection', 'close');
    pipeline.onSend(request, reply, payload);
    // Every authenticated response (/graphql, /usage.csv) says which rate-limit policies apply
    // (or that none does), also those no limit decision answered. No count is known while the
    // store is down for a fail-closed plan: that 429 carries only Retry-After.
    const fallback = options.rateLimitHeaders;
    if (
      request.principal &&
      fallback &&
      !reply.hasHeader('ratelimit-policy') &&
      !reply.hasHeader(EXEMPT_HEADER) &&
      request.gatewayState?.decided?.throttled !== 'unavailable'
    ) {
      const headers = fallback(request.principal, request.ip);
      if (!(headers instanceof Promise)) {
        reply.headers(headers);
        done();
        return;
      }
      headers
        .catch(() => ({}))
        .then((found) => {
          reply.headers(found);
          done();
        });
      return;
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    try {
      pipeline.onResponse(request, reply.statusCode);
      options.endTrace?.(request, reply.statusCode);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    // A GraphQL request with a body that cannot be read still counts against its caller's limits.
    const refuse = request.principal && request.routeOptions.url === '/graphql' ? pipeline.refuseAtDoor : null;
    const answer = (code: 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'BAD_REQUEST', message: string) =>
      refuse ? refuse(request, reply, code, message) : sendError(reply, code, message);
    if (status === 413) return answer('PAYLOAD_TOO_LARGE', `Request body is larger than ${configSource.current().server.bodyLimitBytes} bytes.`);
    if (status === 415) return answer('UNSUPPORTED_MEDIA_TYPE', `Unsupported content type "${request.headers['content-type'] ?? ''}": send application/json.`);
    if (status >= 400 && status < 500) return answer('BAD_REQUEST', `Bad request: ${error.message}`);
    request.log.error({ err: error, requestId: request.id }, 'unhandled error');
    return sendError(reply, 'INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: request.id });
  });

  app.setNotFoundHandler(sendNotFound);

  // The API's preflights (its actual requests' CORS is the first door step of each API route).
  await registerCors(app, () => configSource.current());
  registerHealthRoutes(app, { checks: options.readinessChecks ?? [], ...(options.metricsRegistry ? { registry: options.metricsRegistry } : {}) });

  const ideHook = registerIde(app);

  const apollo = options.createApollo([fastifyApolloDrainPlugin<GatewayContext>(app), pipeline.apolloPlugin]);
  await apollo.start();

  const graphqlRoute = {
    method: ['GET', 'POST'] as ('GET' | 'POST')[],
    url: '/graphql',
    // GraphiQL for a browser asking for HTML first: the page needs no key.
    onRequest: doorHook([corsStep(() => configSource.current()), ideHook, ...pipeline.onRequest, transportHook(pipeline.refuseAtDoor)]),
    ...(frontDoor ? { preParsing: frontDoor.preParsing } : {}),
    preHandler: doorHook(pipeline.preHandler),
    handler: apolloHandler(apollo, async (request) => pipeline.context(request), pipeline.clientGone),
  };
  app.route(options.traceRoute ? options.traceRoute(graphqlRoute) : graphqlRoute);

  return { app, apollo };
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
/** What Fastify passes a server factory, with its defaults applied (fastify.js `processOptions`). */
type ServerSettings = { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number; maxRequestsPerSocket: number };

/** The HTTP server Fastify would make (lib/server.js `getServerInstance`, plain HTTP/1), with `listener` in front. */
function serverWith(listener: RequestListener, settings: ServerSettings): Server {
  const server = createServer(listener);
  server.keepAliveTimeout = settings.keepAliveTimeout;
  server.requestTimeout = settings.requestTimeout;
  server.setTimeout(settings.connectionTimeout);
  if (settings.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  return server;
}
