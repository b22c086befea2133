import type { Priority } from '../fairness/priority.js';
import type { OverloadReason } from './http-errors.js';
import type { DownstreamWaits } from './waits.js';

/** Who a downstream call is made for, and how it waits: what the caller passes with every call. */
export interface CallContext {
  tenantId: string;
  requestId: string;
  /** The caller's own cancellation (e.g. the GraphQL request went away); aborts retries too. */
  signal?: AbortSignal;
  /**
   * The caller's share of each service's slots against other tenants waiting for them, a
   * positive number (from its plan: e.g. 4 for Enterprise, 1 for Free). Default 1.
   */
  weight?: number;
  /**
   * The call's priority class: `critical` may use the slots reserved for it
   * (`concurrency.criticalReservePercent`) and is served first, `batch` last (queued calls age,
   * so none starves). Default `normal`.
   */
  priority?: Priority;
  /** The caller's plan id, only as a label of the queue metrics; default none (`unknown`). */
  plan?: string;
  /** The request's record of how long its calls waited (waits.ts); absent: not recorded. */
  waits?: DownstreamWaits;
  /** The request's trace, when tracing is on (tracing/call-spans.ts): each HTTP attempt is its own span. */
  trace?: CallTrace;
}

/** How a request's trace follows its downstream calls; one `start` per HTTP attempt. */
export interface CallTrace {
  /** Before sending: the attempt's span started; `headers` (W3C `traceparent`) go with the request. */
  start(method: string, url: string): CallSpan;
}

export interface CallSpan {
  readonly headers: Readonly<Record<string, string>>;
  /** The response's status, or the failure when there was none. */
  end(outcome: { status: number } | { error: string }): void;
}

/** One call's passage through a service's queue, for metrics; `reason` when it got no slot. */
export interface QueueEvent {
  service: string;
  priority: Priority;
  plan: string;
  waitedMs: number;
  reason: OverloadReason | null;
}
