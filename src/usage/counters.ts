import type { UsageEvent } from './event.js';

/**
 * Upper bounds (ms, inclusive) of the latency histogram's buckets; a 13th bucket holds the rest
 * (+Inf). Log-scale 1-2-5, so every bucket is at most 2.5x as wide as its lower bound.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/**
 * What a bucket holds: sums over the requests counted in it. Costs are kept in milli-points and
 * latency sums in microseconds so that every stored value is an integer (Redis HINCRBY) and sums
 * stay exact (cost weights may be decimals such as 2.5).
 */
export interface Counters {
  requests: number;
  errors: number;
  /** Failures of the gateway or a service behind it (5xx, internal or downstream error codes): the SLA's failures. */
  faults: number;
  throttled: number;
  throttledBy: Map<string, number>;
  /** The estimates of requests that ran (refused ones are in refusedCostMilli). */
  requestedCostMilli: number;
  /**
   * The estimates of requests refused before running (throttled, COST_LIMIT_EXCEEDED): work
   * asked for and never done, kept apart so that one refused 50,000-point operation does not read
   * as 50,000 points requested.
   */
  refusedCostMilli: number;
  actualCostMilli: number;
  responseBytes: number;
  cacheHits: number;
  cacheMisses: number;
  latencySumMicros: number;
  /** LATENCY_BOUNDS_MS.length + 1 counts. */
  latencyHistogram: number[];
}

export function emptyCounters(): Counters {
  return {
    requests: 0,
    errors: 0,
    faults: 0,
    throttled: 0,
    throttledBy: new Map(),
    requestedCostMilli: 0,
    refusedCostMilli: 0,
    actualCostMilli: 0,
    responseBytes: 0,
    cacheHits: 0,
    cacheMisses: 0,
    latencySumMicros: 0,
    latencyHistogram: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
  };
}

/** Index of the histogram bucket a latency falls in: the first bound it does not exceed. */
export function latencyBucket(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (latencyMs <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** A non-negative integer from a measurement that may be fractional, negative or NaN. */
function whole(value: number, scale = 1): number {
  return Number.isFinite(value) && value > 0 ? Math.round(value * scale) : 0;
}

/** Adds one request; `reason` is the throttle reason to count it under when it was throttled. */
export function addEvent(into: Counters, event: UsageEvent, reason = event.throttledBy ?? 'unknown'): void {
  into.requests += 1;
  if (event.status === 'error') into.errors += 1;
  if (event.fault) into.faults += 1;
  if (event.status === 'throttled') {
    into.throttled += 1;
    into.throttledBy.set(reason, (into.throttledBy.get(reason) ?? 0) + 1);
    into.refusedCostMilli += whole(event.requestedCost, 1000);
  } else {
    into.requestedCostMilli += whole(event.requestedCost, 1000);
  }
  into.actualCostMilli += whole(event.actualCost, 1000);
  into.responseBytes += whole(event.responseBytes);
  into.cacheHits += whole(event.cacheHits);
  into.cacheMisses += whole(event.cacheMisses);
  into.latencySumMicros += whole(event.latencyMs, 1000);
  into.latencyHistogram[latencyBucket(event.latencyMs)]! += 1;
}

export function addCounters(into: Counters, from: Counters): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.faults += from.faults;
  into.throttled += from.throttled;
  for (const [reason, count] of from.throttledBy) into.throttledBy.set(reason, (into.throttledBy.get(reason) ?? 0) + count);
  into.requestedCostMilli += from.requestedCostMilli;
  into.refusedCostMilli += from.refusedCostMilli;
  into.actualCostMilli += from.actualCostMilli;
  into.responseBytes += from.responseBytes;
  into.cacheHits += from.cacheHits;
  into.cacheMisses += from.cacheMisses;
  into.latencySumMicros += from.latencySumMicros;
  for (const [i, count] of from.latencyHistogram.entries()) into.latencyHistogram[i]! += count;
}

/*
 * Hash fields of a bucket (short names: a minute bucket is one of ~43,200 per tenant). Only
 * non-zero fields are written, so a quiet bucket stays a handful of listpack entries.
 *   r requests, e errors, f faults (gateway or downstream failures, part of e), t throttled, t:<reason> throttled by reason (ok = r - e - t),
 *   rc / ac requested (by requests that ran) / actual cost, xc requested by refused requests (milli-points), b response bytes, ch / cm cache hits / misses,
 *   ls latency sum (µs), l0..l12 latency histogram counts (LATENCY_BOUNDS_MS, then +Inf).
 */
export function toFields(counters: Counters): [string, number][] {
  const fields: [string, number][] = [
    ['r', counters.requests],
    ['e', counters.errors],
    ['f', counters.faults],
    ['t', counters.throttled],
    ...[...counters.throttledBy].map(([reason, count]): [string, number] => [`t:${reason}`, count]),
    ['rc', counters.requestedCostMilli],
    ['xc', counters.refusedCostMilli],
    ['ac', counters.actualCostMilli],
    ['b', counters.responseBytes],
    ['ch', counters.cacheHits],
    ['cm', counters.cacheMisses],
    ['ls', counters.latencySumMicros],
    ...counters.latencyHistogram.map((count, i): [string, number] => [`l${i}`, count]),
  ];
  return fields.filter(([, value]) => value !== 0);
}

const SIMPLE_FIELDS: Record<string, Exclude<keyof Counters, 'throttledBy' | 'latencyHistogram'>> = {
  r: 'requests',
  e: 'errors',
  f: 'faults',
  t: 'throttled',
  rc: 'requestedCostMilli',
  xc: 'refusedCostMilli',
  ac: 'actualCostMilli',
  b: 'responseBytes',
  ch: 'cacheHits',
  cm: 'cacheMisses',
  ls: 'latencySumMicros',
};

/** Adds a stored bucket hash (as read back) into `into`; unknown fields are ignored. */
export function addFields(into: Counters, hash: Record<string, string | number>): void {
  for (const [field, raw] of Object.entries(hash)) {
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    const simple = SIMPLE_FIELDS[field];
    if (simple) into[simple] += value;
    else if (field.startsWith('t:')) into.throttledBy.set(field.slice(2), (into.throttledBy.get(field.slice(2)) ?? 0) + value);
    else if (/^l\d+$/.test(field)) {
      const i = Number(field.slice(1));
      if (i < into.latencyHistogram.length) into.latencyHistogram[i]! += value;
    }
  }
}
