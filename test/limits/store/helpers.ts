import type { Dimension, LimitDecision } from '../../../src/limits/store/types.js';

type Sliding = Extract<Dimension, { kind: 'sliding' }>;
type Calendar = Extract<Dimension, { kind: 'calendar' }>;

let counter = 0;
/** A fresh hash-tagged key prefix, so tests sharing a Redis never see each other's keys. */
export function freshPrefix(): string {
  counter += 1;
  return `rl:{t${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}}`;
}

export function sliding(key: string, overrides: Partial<Sliding> = {}): Sliding {
  return { kind: 'sliding', name: 'tenant-rpm', key, limit: 3, windowMs: 60_000, buckets: 6, amount: 1, ...overrides };
}

export function calendar(key: string, overrides: Partial<Calendar> = {}): Calendar {
  return { kind: 'calendar', name: 'tenant-day', key, limit: 2, period: 'day', utcOffsetMinutes: 0, amount: 1, ...overrides };
}

/** A clock tests move by hand. */
export function fakeClock(start: number) {
  const clock = {
    t: start,
    now: () => clock.t,
    advance: (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

export function refusedNames(decision: LimitDecision): string[] {
  return decision.results.filter((result) => !result.allowed).map((result) => result.name);
}

/** Deterministic PRNG (mulberry32), so a failing random run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Admission {
  at: number;
  amount: number;
}

/** The largest total admitted in any rolling window [s, s + windowMs), s an admission time. */
export function maxInAnyWindow(admitted: readonly Admission[], windowMs: number): number {
  const sorted = [...admitted].sort((x, y) => x.at - y.at);
  let max = 0;
  let end = 0;
  let sum = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]!.at < sorted[start]!.at + windowMs) {
      sum += sorted[end]!.amount;
      end += 1;
    }
    max = Math.max(max, sum);
    sum -= sorted[start]!.amount;
  }
  return max;
}

/** Total admitted with `from < at <= to`. */
export function admittedBetween(admitted: readonly Admission[], from: number, to: number): number {
  return admitted.filter((a) => a.at > from && a.at <= to).reduce((sum, a) => sum + a.amount, 0);
}
