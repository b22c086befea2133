import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { SamplerName, TracingSettings } from './settings.js';

/** The instrumentation scope of the gateway's own spans. */
export const TRACER_NAME = 'experience-gateway';

export interface TraceProvider {
  tracer: Tracer;
  /** Exports what is buffered, then stops; the process-wide context and propagator are released. */
  shutdown(): Promise<void>;
}

/**
 * The SDK's tracer provider for these settings, registered process-wide: OpenTelemetry's context
 * (AsyncLocalStorage) and propagator are globals of `@opentelemetry/api`, and the undici
 * instrumentation reads them. So one traced gateway per process (main.ts starts one).
 * Spans given in code (`exporter`, tests) are exported one by one as they end; the others in
 * batches (the SDK's `OTEL_BSP_*` variables tune the batches).
 */
export function startTraceProvider(settings: TracingSettings, exporter?: SpanExporter): TraceProvider {
  const spanProcessors: SpanProcessor[] = exporter ? [new SimpleSpanProcessor(exporter)] : [];
  for (const name of settings.exporters) {
    spanProcessors.push(new BatchSpanProcessor(name === 'otlp' ? new OTLPTraceExporter({ url: settings.otlpTracesUrl }) : new ConsoleSpanExporter()));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    sampler: samplerOf(settings.sampler, settings.ratio),
    spanProcessors,
  });
  // W3C trace context only (`traceparent`, `tracestate`): what downstream services are told.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    tracer: provider.getTracer(TRACER_NAME),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
