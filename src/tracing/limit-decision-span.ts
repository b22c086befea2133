import { type Context, context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { LimitGate } from '../limits/limit-gate.js';
import { ATTR, decisionAttributes } from './attributes.js';

/** The span of the limit decision; the Redis commands it sends are its children. */
export const LIMIT_DECISION_SPAN = 'limit decision';

/**
 * The limit gate with its `decide` in a span of its own (the rest of the gate as it is): what was
 * estimated, what the plan's limits said and who decided. Its parent is the request's operation
 * span, found from the request's state (`contextOf`: the context does not survive an await). A
 * request that is not sampled goes straight to the gate.
 */
export function traceLimitGate(gate: LimitGate, tracer: Tracer, contextOf: (state: object) => Context | undefined): LimitGate {
  return {
    ...gate,
    decide(input) {
      const parent = contextOf(input.key);
      if (!parent || !trace.getSpan(parent)?.isRecording()) return gate.decide(input);
      const span = tracer.startSpan(LIMIT_DECISION_SPAN, { kind: SpanKind.INTERNAL, attributes: { [ATTR.costEstimated]: input.priced.requested } }, parent);
      // Active while the gate runs synchronously: the Redis command it sends then is this span's child (redis-spans.ts).
      const deciding = context.with(trace.setSpan(parent, span), () => gate.decide(input));
      return deciding.then(
        (decision) => {
          span.setAttributes(decisionAttributes(decision));
          span.end();
          return decision;
        },
        (error: unknown) => {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          throw error;
        },
      );
    },
  };
}
