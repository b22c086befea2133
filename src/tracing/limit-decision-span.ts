import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { LimitGate } from '../limits/limit-gate.js';
import type { LimitObserver } from '../limits/limit-observer.js';
import { ATTR, decisionAttributes } from './attributes.js';

/** The span of the limit decision; the Redis commands it sends are its children. */
export const LIMIT_DECISION_SPAN = 'limit decision';

/**
 * The limit gate with its `decide` in a span of its own (the rest of the gate as it is): what was
 * estimated, what the plan's limits said, and, from the gate's observer, who decided. A request
 * that is not sampled goes straight to the gate.
 */
export function traceLimitGate(gate: LimitGate, tracer: Tracer): LimitGate {
  return {
    ...gate,
    decide(input) {
      if (!trace.getActiveSpan()?.isRecording()) return gate.decide(input);
      return tracer.startActiveSpan(
        LIMIT_DECISION_SPAN,
        { kind: SpanKind.INTERNAL, attributes: { [ATTR.costEstimated]: input.priced.requested } },
        async (span) => {
          try {
            const decision = await gate.decide(input);
            span.setAttributes(decisionAttributes(decision));
            return decision;
          } catch (error) {
            span.recordException(error instanceof Error ? error : String(error));
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

/** Called by the gate inside `decide`, so the active span is the decision's: the store that decided. */
export const limitSourceObserver: LimitObserver = ({ source }) => {
  trace.getActiveSpan()?.setAttribute(ATTR.source, source);
};
