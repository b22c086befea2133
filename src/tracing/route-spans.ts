import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod, RouteOptions } from 'fastify';
import type { CallTrace } from '../downstream/call-context.js';
import { operationAttributes, principalAttributes } from './attributes.js';
import { callTraceOf, headersOf, unsampledCallsOf } from './call-spans.js';
import type { RootSampling } from './root-sampling.js';

/** A sampled request's spans in flight: its server span and the context its work runs in. */
interface SampledTrace {
  sampled: true;
  server: Span;
  context: Context;
  /** Below the GraphQL operation span, once the handler started it. */
  operation?: Context;
}

/** A request not sampled: no span, only what its downstream calls are told of its trace. */
interface UnsampledTrace {
  sampled: false;
  calls: CallTrace;
}

type RequestTrace = SampledTrace | UnsampledTrace;

type Hook = (this: unknown, request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => unknown;

/** The span name of an operation not resolved (yet): the semantic conventions' fallback. */
const UNRESOLVED_OPERATION = 'GraphQL Operation';

/**
 * The spans of a traced route, the `/graphql` one (http/server.ts hands its route options here):
 *
 *   {METHOD} /graphql            SERVER, from the first hook to the response (parent: the caller's `traceparent`)
 *     query | mutation           SERVER (GraphQL semantic conventions), around Apollo's handler:
 *                                parse, validate, the operation gate, execution; ends with the
 *                                tenant, plan, costs and limit decision of the request state
 *       limit decision           limit-decision-span.ts
 *       GET, POST, ...           downstream HTTP calls (the undici instrumentation), `traceparent` sent on
 *       EVALSHA, ...             Redis commands (redis-spans.ts)
 *
 * Fastify runs a route's hooks and handler as separate calls, resumed from socket and body-parser
 * events, and the context lasts only a synchronous call (sync-context.ts): each hook and the
 * handler is run inside the request's context, and what continues later (the operation plugin,
 * the limit decision, downstream calls) finds it from the request's state (`bindState`).
 * A request that is not sampled has none of these spans and runs outside any context: it only
 * tells its downstream calls its trace's ids, the sampled flag off.
 */
export function createRouteSpans(tracer: Tracer, rootSampling: RootSampling) {
  /**
   * A request's trace, and the context its state's later work continues in, are kept on the
   * request and on its state (graph/request-state.ts) under symbols of this instance, not in
   * WeakMaps: an entry in a WeakMap per request was the dearest thing an unsampled request paid
   * for tracing in CPU profiles.
   */
  const TRACE = Symbol('request trace');
  const STATE_CONTEXT = Symbol('state trace context');
  type Traced = { [TRACE]?: RequestTrace | undefined };
  type TracedState = { [STATE_CONTEXT]?: Context };
  const traces = {
    get: (request: FastifyRequest): RequestTrace | undefined => (request as Traced)[TRACE],
    set: (request: FastifyRequest, started: RequestTrace) => {
      (request as Traced)[TRACE] = started;
    },
    delete: (request: FastifyRequest) => {
      (request as Traced)[TRACE] = undefined;
    },
  };
  const states = {
    get: (state: object): Context | undefined => (state as TracedState)[STATE_CONTEXT],
    set: (state: object, context: Context) => {
      (state as TracedState)[STATE_CONTEXT] = context;
    },
  };

  function start(request: FastifyRequest, reply: FastifyReply, route: string): RequestTrace {
    const name = `${request.method} ${route}`;
    let parent = ROOT_CONTEXT;
    if (request.headers.traceparent === undefined) {
      // A new trace: sampled or not is decided before any span is made (root-sampling.ts says why).
      const traceId = rootSampling.unsampledTraceId(name);
      if (traceId !== undefined) {
        const traceparent = () => ({ traceparent: `00-${traceId}-${rootSampling.newSpanId()}-00` });
        return remember(request, { sampled: false, calls: unsampledCallsOf(traceparent) });
      }
    } else {
      // The caller's trace; its sampling decision is followed (parentbased_* samplers).
      parent = propagation.extract(ROOT_CONTEXT, request.headers);
    }
    const server = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    if (!server.isRecording()) {
      const serverContext = trace.setSpan(parent, server);
      return remember(request, { sampled: false, calls: unsampledCallsOf(() => headersOf(serverContext)) });
    }
    server.setAttributes({
      'http.request.method': request.method,
      'http.route': route,
      'url.path': request.url.split('?', 1)[0]!,
      'url.scheme': request.protocol,
      'client.address': request.ip,
      'user_agent.original': request.headers['user-agent'] ?? '',
    });
    const started: SampledTrace = { sampled: true, server, context: trace.setSpan(parent, server) };
    // Once its operation has started, the handler ends the span of a request whose client left (`operation`).
    endsIfClientLeaves(reply, () => {
      if (started.operation === undefined) end(request, null);
    });
    return remember(request, started);
  }

  function remember(request: FastifyRequest, started: RequestTrace): RequestTrace {
    traces.set(request, started);
    return started;
  }

  function end(request: FastifyRequest, statusCode: number | null): void {
    const started = traces.get(request);
    if (!started?.sampled) return;
    traces.delete(request);
    endServerSpan(started.server, request, statusCode);
  }

  /**
   * Runs a hook in the request's trace context (a callback or an async hook alike), for a sampled
   * request: an unsampled one makes no span below its server span, so its hooks run as they are.
   */
  const within = (hook: Hook, route: string): Hook =>
    function (this: unknown, request, reply, done) {
      const started = traces.get(request) ?? start(request, reply, route);
      if (!started.sampled) return hook.call(this, request, reply, done);
      return context.with(started.context, hook, this, request, reply, done);
    };

  function operation(handler: RouteHandlerMethod, route: string): RouteHandlerMethod {
    return function (this: ThisParameterType<RouteHandlerMethod>, request, reply) {
      const started = traces.get(request) ?? start(request, reply, route);
      // Not sampled: no operation span (it would record nothing); downstream calls still get the trace's ids (bindState).
      if (!started.sampled) return handler.call(this, request, reply);
      const span = tracer.startSpan(UNRESOLVED_OPERATION, { kind: SpanKind.SERVER }, started.context);
      // The GraphQL plugin (graphql-plugin.ts) names it and adds the graphql.* attributes once the operation resolves.
      const operationContext = trace.setSpan(started.context, span);
      started.operation = operationContext;
      const result = context.with(operationContext, handler, this, request, reply);
      const finish = () => {
        if (request.gatewayState) span.setAttributes(operationAttributes(request.gatewayState));
        if (request.gatewayState?.answered?.hadFault) span.setStatus({ code: SpanStatusCode.ERROR, message: 'a gateway or downstream fault' });
        span.end();
        // Its client left while it ran: no response, so no onResponse to end the server span.
        if (reply.raw.destroyed) end(request, null);
      };
      Promise.resolve(result).then(finish, (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        finish();
      });
      return result;
    };
  }

  return {
    /**
     * Called as the request's state is made (http/pipeline.ts, inside the handler): later work
     * finds the request's trace from the state; the returned trace follows its downstream calls.
     */
    bindState(request: FastifyRequest, state: object): CallTrace | undefined {
      const started = traces.get(request);
      if (!started) return undefined;
      if (!started.sampled) return started.calls;
      const bound = started.operation ?? started.context;
      states.set(state, bound);
      return callTraceOf(tracer, bound);
    },
    /** The context a request's later work continues in, from its state; undefined: not traced. */
    contextOfState: (state: object): Context | undefined => states.get(state),
    /** The route with its hooks and handler run in the request's trace, and the spans started and ended around them. */
    traceRoute<Route extends object>(given: Route): Route {
      const route = given as unknown as RouteOptions;
      // The template from here: Fastify's `request.routeOptions` getter builds a dozen-field object on every call.
      const traced = route.url;
      // No hook of its own: each Fastify hook costs every request more than its code. The first
      // wrapped hook starts the trace (`within`); the server's onResponse ends it (`endRequest`).
      return {
        ...route,
        onRequest: hooksOf(route.onRequest).map((hook) => within(hook, traced)),
        preHandler: hooksOf(route.preHandler).map((hook) => within(hook, traced)),
        handler: operation(route.handler, traced),
      } as unknown as Route;
    },
    /** Ends the request's server span with its status, once the response is sent (a request not traced: nothing). */
    endRequest: (request: FastifyRequest, statusCode: number) => end(request, statusCode),
  };
}

/**
 * A sampled request's server span ended with who called and the response's status; `null`: the
 * client left first. Called once per span: `end` forgets the request's trace first.
 */
function endServerSpan(server: Span, request: FastifyRequest, statusCode: number | null): void {
  server.setAttributes(principalAttributes(request.principal));
  if (statusCode === null) {
    server.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the request before the response' });
  } else {
    server.setAttribute('http.response.status_code', statusCode);
    // HTTP semantic conventions: a server span is an error for 5xx only; a 4xx is the caller's.
    if (statusCode >= 500) {
      server.setAttribute('error.type', String(statusCode));
      server.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  server.end();
}

/**
 * A request whose client leaves before its response gets no onResponse: one whose body was cut
 * short, one that gave up while it waited for admission (http/admission-hook.ts), and one whose
 * operation was running (that one's span the handler ends, after its operation's). The span ends
 * with the connection, unless the response was sent. Only a span that records listens: a route
 * `onRequestAbort` hook would put a listener and a closure on every request, sampled or not.
 */
function endsIfClientLeaves(reply: FastifyReply, left: () => void): void {
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) left();
  });
}

/** A route option's hooks as a list (Fastify takes one function or an array). */
function hooksOf(hooks: unknown): Hook[] {
  if (hooks === undefined) return [];
  return (Array.isArray(hooks) ? hooks : [hooks]) as Hook[];
}
