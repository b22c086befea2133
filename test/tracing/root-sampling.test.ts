import { ROOT_CONTEXT, SamplingDecision, SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { createRootSampling } from '../../src/tracing/root-sampling.js';

const ratio = new TraceIdRatioBasedSampler(0.5);
const keeps = (traceId: string) => ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;

describe('the sampling decision of a new trace, taken before any span', () => {
  it('a sampled decision gives its trace id to the next root span, which the SDK samples too; an unsampled one returns the id it declined', () => {
    // As provider.ts wires it: the tracer's sampler parent-based, the decision before any span its root's.
    const sampler = new ParentBasedSampler({ root: ratio });
    const sampling = createRootSampling(ratio);
    const tracer = new BasicTracerProvider({ sampler, idGenerator: sampling.idGenerator }).getTracer('test');
    const declined: string[] = [];
    const kept: string[] = [];
    for (let i = 0; i < 64; i++) {
      const traceId = sampling.unsampledTraceId('POST /graphql');
      if (traceId !== undefined) {
        declined.push(traceId);
        continue;
      }
      const span = tracer.startSpan('POST /graphql', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      // Recorded: the SDK's sampler was asked about the same id, and agreed.
      expect(span.isRecording()).toBe(true);
      kept.push(span.spanContext().traceId);
      span.end();
    }
    expect(declined.every((id) => /^[0-9a-f]{32}$/.test(id) && !keeps(id))).toBe(true);
    expect(kept.every(keeps)).toBe(true);
    // Both decisions came up (odds of 2^-63 otherwise), and no trace id twice.
    expect(kept.length).toBeGreaterThan(0);
    expect(declined.length).toBeGreaterThan(0);
    expect(new Set([...kept, ...declined]).size).toBe(64);
  });

  it('once a sampled id is taken, the next root span gets a fresh id of its own', () => {
    const sampler = new TraceIdRatioBasedSampler(1);
    const sampling = createRootSampling(sampler);
    const tracer = new BasicTracerProvider({ sampler, idGenerator: sampling.idGenerator }).getTracer('test');
    expect(sampling.unsampledTraceId('POST /graphql')).toBeUndefined();
    const first = tracer.startSpan('first', {}, ROOT_CONTEXT).spanContext().traceId;
    const second = tracer.startSpan('second', {}, ROOT_CONTEXT).spanContext().traceId;
    expect(second).not.toBe(first);
    expect(sampling.newSpanId()).toMatch(/^[0-9a-f]{16}$/);
  });
});
