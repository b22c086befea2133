import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { graphqlSpanPlugin } from './graphql-plugin.js';
import { limitSourceObserver, traceLimitGate } from './limit-decision-span.js';
import { startTraceProvider } from './provider.js';
import { traceRedisCommands } from './redis-spans.js';
import { createRouteSpans } from './route-spans.js';
import type { TracingSettings } from './settings.js';
import type { Tracing, TracingOptions } from './tracing.js';

/**
 * Tracing on: the SDK's tracer provider (provider.ts), our spans of the request path, the undici
 * instrumentation for downstream calls (it reads undici's diagnostics channels and sends
 * `traceparent`) and Redis command spans from ioredis's own channel. Manual spans rather than the
 * Fastify/GraphQL auto-instrumentations: those patch modules as they are first required, which
 * under ESM needs a loader hook before anything is imported, and still misses modules already
 * loaded; these need no hook and no load order.
 */
export function startTracing(settings: TracingSettings, options: TracingOptions): Tracing {
  const provider = startTraceProvider(settings, options.logger, options.exporter);
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
