import { ROOT_CONTEXT, SamplingDecision, SpanKind } from '@opentelemetry/api';
import { type IdGenerator, RandomIdGenerator, type Sampler } from '@opentelemetry/sdk-trace-node';

/** What a request that starts a trace (no `traceparent`) is told before any span is made. */
export interface RootSampling {
  /**
   * The sampler's decision for a new trace's server span named `name`. Not sampled:
   * the new trace's id, and the caller makes no span at all (route-spans.ts). Sampled:
   * undefined, and the tracer's next root span gets the very trace id the decision was taken on,
   * so the SDK's own sampling of that span (the same sampler) agrees.
   */
  unsampledTraceId(name: string): string | undefined;
  /** A new span id (the `traceparent` an unsampled request sends downstream names its server span by one). */
  newSpanId(): string;
  /** The tracer provider's id generator: the SDK's random ids, but a root span's trace id is the one sampled. */
  readonly idGenerator: IdGenerator;
}

/**
 * Nine requests in ten, at the 10 % sampling a production gateway runs, are not sampled. The SDK
 * makes each of them a non-recording span anyway (ids, sampler, span and context objects, and the
 * API's global lookups on every use): about 15 µs of the main thread per request in CPU profiles,
 * 2 % of the `tracing` bench's request. Deciding first, with the same sampler on the same trace id,
 * lets an unsampled request skip all of it and keep only its trace's ids for its downstream calls.
 *
 * `sampler`: the one the tracer's sampler asks about a span without a parent (a parent-based
 * sampler's `root`; any other sampler itself).
 */
export function createRootSampling(sampler: Sampler): RootSampling {
  const random = new RandomIdGenerator();
  /** The trace id a sampled decision was taken on, for the root span the tracer starts next. */
  let sampledTraceId: string | undefined;
  const idGenerator: IdGenerator = {
    generateTraceId() {
      const id = sampledTraceId ?? random.generateTraceId();
      sampledTraceId = undefined;
      return id;
    },
    generateSpanId: () => random.generateSpanId(),
  };
  return {
    unsampledTraceId(name) {
      const traceId = random.generateTraceId();
      // As the SDK's tracer asks it for a root span: no parent, no attributes, no links.
      const { decision } = sampler.shouldSample(ROOT_CONTEXT, traceId, name, SpanKind.SERVER, {}, []);
      if (decision === SamplingDecision.NOT_RECORD) return traceId;
      // The tracer starts the root span synchronously after this (route-spans.ts), before any other span.
      sampledTraceId = traceId;
      return undefined;
    },
    newSpanId: () => random.generateSpanId(),
    idGenerator,
  };
}
