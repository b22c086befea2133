import { context, DiagLogLevel, diag, propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
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
import type { Logger } from '../observability/logger.js';
import { createRootSampling, type RootSampling } from './root-sampling.js';
import type { SamplerName, TracingSettings } from './settings.js';
import { SyncContextManager } from './sync-context.js';
import { type ExportThread, startExportThread } from './worker-exporter.js';

/** How long a stop waits for the last spans to reach the collector, ms: a collector that hangs must not hold the exit. */
export const SHUTDOWN_EXPORT_MS = 2000;

/** The instrumentation scope of the gateway's own spans. */
export const TRACER_NAME = 'experience-gateway';

export interface TraceProvider {
  tracer: Tracer;
  /** The sampler's decision for a request that starts a trace, before any span (root-sampling.ts). */
  rootSampling: RootSampling;
  /** Exports what is buffered (waiting at most SHUTDOWN_EXPORT_MS), then stops; the process-wide context and propagator are released. */
  shutdown(): Promise<void>;
}

/**
 * The SDK's tracer provider for these settings, registered process-wide: OpenTelemetry's context
 * manager and propagator are globals of `@opentelemetry/api`, and ioredis's command spans read
 * the context. So one traced gateway per process (main.ts starts one).
 * Spans given in code (`exporter`, tests) are exported one by one as they end; the others in
 * batches (the SDK's `OTEL_BSP_*` variables tune the batches); OTLP batches are encoded and
 * sent by a thread of their own.
 */
export function startTraceProvider(settings: TracingSettings, logger: Logger, exporter?: SpanExporter): TraceProvider {
  // The SDK's own warnings and errors (a collector that refuses or times out) go to the gateway's
  // log; without a logger OpenTelemetry drops them silently.
  const log = logger.child({ component: 'tracing' });
  diag.setLogger(
    {
      error: (message, ...args) => log.error({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const resource = resourceFromAttributes({ 'service.name': settings.serviceName });
  const spanProcessors: SpanProcessor[] = exporter ? [new SimpleSpanProcessor(exporter)] : [];
  const exportThreads: ExportThread[] = [];
  for (const name of settings.exporters) {
    let exporting: SpanExporter;
    if (name === 'otlp') {
      // Encoding and sending on a thread of their own (worker-exporter.ts says why); the batching stays here.
      const thread = startExportThread({ url: settings.otlpTracesUrl, resource, logger: log });
      exportThreads.push(thread);
      exporting = thread;
    } else {
      exporting = new ConsoleSpanExporter();
    }
    spanProcessors.push(new BatchSpanProcessor(exporting, { ...settings.batch }));
  }
  const { sampler, root } = samplerOf(settings.sampler, settings.ratio);
  // A new trace has no parent: its decision is the root sampler's, asked directly (no parent-based step).
  const rootSampling = createRootSampling(root);
  const provider = new NodeTracerProvider({ resource, sampler, idGenerator: rootSampling.idGenerator, spanProcessors });
  // W3C trace context only (`traceparent`, `tracestate`): what downstream services are told.
  // The context lives only as long as a synchronous call (sync-context.ts says why).
  provider.register({ propagator: new W3CTraceContextPropagator(), contextManager: new SyncContextManager() });
  return {
    tracer: provider.getTracer(TRACER_NAME),
    rootSampling,
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn({ waitedMs: SHUTDOWN_EXPORT_MS }, 'the last trace spans were not exported in time; stopping without them');
          resolve();
        }, SHUTDOWN_EXPORT_MS);
        timer.unref();
      });
      await Promise.race([provider.shutdown().catch((err: unknown) => log.warn({ err }, 'trace export failed at shutdown')), giveUp]);
      clearTimeout(timer);
      // Given up on, an export thread would otherwise wait out the exporter's own timeout (10 s).
      await Promise.all(exportThreads.map((thread) => thread.terminate()));
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}

/** The sampler of these settings, and the one it asks about a span without a parent (the same, unless parent-based). */
function samplerOf(name: SamplerName, ratio: number): { sampler: Sampler; root: Sampler } {
  const itself = (sampler: Sampler) => ({ sampler, root: sampler });
  const parentBased = (root: Sampler) => ({ sampler: new ParentBasedSampler({ root }), root });
  switch (name) {
    case 'always_on':
      return itself(new AlwaysOnSampler());
    case 'always_off':
      return itself(new AlwaysOffSampler());
    case 'traceidratio':
      return itself(new TraceIdRatioBasedSampler(ratio));
    case 'parentbased_always_on':
      return parentBased(new AlwaysOnSampler());
    case 'parentbased_always_off':
      return parentBased(new AlwaysOffSampler());
    case 'parentbased_traceidratio':
      return parentBased(new TraceIdRatioBasedSampler(ratio));
  }
}
