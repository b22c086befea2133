import type { ApolloServerPlugin } from '@apollo/server';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ConfigError } from '../config/load.js';
import type { GatewayContext } from '../graph/context.js';
import type { LimitGate } from '../limits/limit-gate.js';
import type { LimitObserver } from '../limits/limit-observer.js';
import type { Logger } from '../observability/logger.js';
import { graphqlSpanPlugin } from './graphql-plugin.js';
import { limitSourceObserver, traceLimitGate } from './limit-decision-span.js';
import { startTraceProvider } from './provider.js';
import { traceRedisCommands } from './redis-spans.js';
import { createRouteSpans } from './route-spans.js';
import { readTracingSettings } from './settings.js';

/** OpenTelemetry tracing as the gateway wires it (gateway.ts); every part is a no-op when tracing is off. */
export interface Tracing {
  readonly enabled: boolean;
  /** The `/graphql` route with its spans (http/server.ts): server span, request context, GraphQL operation span. */
  traceRoute<Route extends object>(route: Route): Route;
  /** The GraphQL semantic conventions on the operation span. */
  readonly apolloPlugins: ApolloServerPlugin<GatewayContext>[];
  /** The limit gate with a span around each decision. */
  traceLimitGate(gate: LimitGate): LimitGate;
  /** For the limit gate's observers: who decided, on the decision's span. */
  readonly limitObservers: LimitObserver[];
  /** Exports the spans still buffered and stops. */
  close(): Promise<void>;
}

export const NO_TRACING: Tracing = {
  enabled: false,
  traceRoute: (route) => route,
  apolloPlugins: [],
  traceLimitGate: (gate) => gate,
  limitObservers: [],
  close: async () => {},
};

/**
 * Tracing configured by the standard `OTEL_*` variables (settings.ts): off by default, and then
 * nothing is wrapped, subscribed or allocated on the request path. On: the SDK's tracer provider
 * (provider.ts), our spans of the request path, the undici instrumentation for downstream calls
 * (it reads undici's diagnostics channels and sends `traceparent`) and Redis command spans from
 * ioredis's own channel. Manual spans rather than the Fastify/GraphQL auto-instrumentations: those
 * patch modules as they are first required, which under ESM needs a loader hook before anything is
 * imported, and still misses modules already loaded; these need no hook and no load order.
 */
export function createTracing(options: {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where spans go besides what `OTEL_TRACES_EXPORTER` names, exported one by one; turns tracing on (tests). */
  exporter?: SpanExporter;
}): Tracing {
  const { settings, issues } = readTracingSettings(options.env);
  if (!settings) throw new ConfigError('environment', issues);
  if (settings.disabled || (settings.exporters.length === 0 && !options.exporter)) return NO_TRACING;

  const provider = startTraceProvider(settings, options.exporter);
  const tracer = provider.tracer;
  // Only calls made inside a request's trace: the alert webhook or the demo's own traffic start none.
  const undici = new UndiciInstrumentation({ requireParentforSpans: true });
  const stopRedis = traceRedisCommands(tracer);
  const routeSpans = createRouteSpans(tracer);
  options.logger.info(
    { exporters: settings.exporters, sampler: settings.sampler, ratio: settings.ratio, serviceName: settings.serviceName },
    'OpenTelemetry tracing on',
  );
  return {
    enabled: true,
    traceRoute: routeSpans.traceRoute,
    apolloPlugins: [graphqlSpanPlugin()],
    traceLimitGate: (gate) => traceLimitGate(gate, tracer),
    limitObservers: [limitSourceObserver],
    async close() {
      undici.disable();
      stopRedis();
      await provider.shutdown();
    },
  };
}
