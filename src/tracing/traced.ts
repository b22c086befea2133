import { graphqlSpanPlugin } from './graphql-plugin.js';
import { traceLimitGate } from './limit-decision-span.js';
import { startTraceProvider } from './provider.js';
import { traceRedisCommands } from './redis-spans.js';
import { createRouteSpans } from './route-spans.js';
import type { TracingSettings } from './settings.js';
import type { Tracing, TracingOptions } from './tracing.js';

/**
 * Tracing on: the SDK's tracer provider (provider.ts), our spans of the request path, a client
 * span per downstream HTTP attempt with its `traceparent` (call-spans.ts) and Redis command spans
 * from ioredis's own channel. Manual spans rather than the Fastify/GraphQL/undici
 * auto-instrumentations: those patch modules as they are first required, which under ESM needs a
 * loader hook before anything is imported, and they find their parent in an AsyncLocalStorage
 * context, whose promise hooks cost every request on Node 20 (sync-context.ts); these pass the
 * request's trace explicitly.
 */
export function startTracing(settings: TracingSettings, options: TracingOptions): Tracing {
  const provider = startTraceProvider(settings, options.logger, options.exporter);
  const tracer = provider.tracer;
  const stopRedis = traceRedisCommands(tracer);
  const routeSpans = createRouteSpans(tracer, provider.rootSampling);
  options.logger.info(
    { exporters: settings.exporters, sampler: settings.sampler, ratio: settings.ratio, serviceName: settings.serviceName },
    'OpenTelemetry tracing on',
  );
  return {
    enabled: true,
    traceRoute: routeSpans.traceRoute,
    endRequest: routeSpans.endRequest,
    bindState: routeSpans.bindState,
    apolloPlugins: [graphqlSpanPlugin(routeSpans.contextOfState)],
    traceLimitGate: (gate) => traceLimitGate(gate, tracer, routeSpans.contextOfState),
    async close() {
      stopRedis();
      await provider.shutdown();
    },
  };
}
