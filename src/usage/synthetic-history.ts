import { emptyCounters, latencyBucket, type Counters } from './counters.js';
import type { Aggregate } from './store.js';

/** One hour of made-up traffic of one API key; absent numbers are 0. */
export interface SyntheticHour {
  requests: number;
  errors?: number;
  /** Errors that were the gateway's or a downstream service's failure (part of `errors`). */
  faults?: number;
  /** Throttled requests by reason (`quota`, `requests`, ...), part of `requests`. */
  throttledBy?: Record<string, number>;
  /** Actual cost points (requested is the same). */
  cost?: number;
  responseBytes?: number;
  cacheHits?: number;
  cacheMisses?: number;
  /**
   * Latency, ms: `typical` for most requests, `slow` for the slowest `slowShare` (default 0.05)
   * of them; without `slow` every request takes `typical`.
   */
  latency?: { typical: number; slow?: number; slowShare?: number };
  /** Requests per root field, e.g. `{ 'Query.customers': 30 }`; the other totals are split in proportion. */
  rootFields?: Record<string, number>;
}

/**
 * The aggregate of one synthetic hour, for the usage store's `write`: the demo's backfilled
 * history and the tests' known histories. It writes hour, day and month buckets only
 * (`finest: 'hour'`), so no minute bucket holds an hour's total.
 */
export function syntheticHour(input: { tenantId: string; planId: string; clientId: string; hourStart: number; hour: SyntheticHour }): Aggregate {
  const { hour } = input;
  const fields = new Map<string, Counters>();
  for (const [field, requests] of Object.entries(hour.rootFields ?? {})) {
    const share = hour.requests === 0 ? 0 : requests / hour.requests;
    fields.set(field, countersOf(hour, share));
  }
  return {
    minute: input.hourStart,
    tenantId: input.tenantId,
    planId: input.planId,
    clientId: input.clientId,
    counters: countersOf(hour, 1),
    fields,
    scope: 'all',
    finest: 'hour',
  };
}

function countersOf(hour: SyntheticHour, share: number): Counters {
  const part = (n: number | undefined) => Math.round((n ?? 0) * share);
  const c = emptyCounters();
  c.requests = part(hour.requests);
  c.errors = part(hour.errors);
  c.faults = part(hour.faults);
  for (const [reason, n] of Object.entries(hour.throttledBy ?? {})) {
    const count = part(n);
    if (count === 0) continue;
    c.throttledBy.set(reason, count);
    c.throttled += count;
  }
  c.requestedCostMilli = c.actualCostMilli = part((hour.cost ?? 0) * 1000);
  c.responseBytes = part(hour.responseBytes);
  c.cacheHits = part(hour.cacheHits);
  c.cacheMisses = part(hour.cacheMisses);
  const typical = hour.latency?.typical ?? 0;
  const slow = hour.latency?.slow;
  const slowCount = slow === undefined ? 0 : Math.round(c.requests * (hour.latency?.slowShare ?? 0.05));
  const fastCount = c.requests - slowCount;
  c.latencyHistogram[latencyBucket(typical)]! += fastCount;
  if (slow !== undefined) c.latencyHistogram[latencyBucket(slow)]! += slowCount;
  c.latencySumMicros = Math.round((fastCount * typical + slowCount * (slow ?? 0)) * 1000);
  return c;
}
