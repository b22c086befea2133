/**
 * A tiny deterministic random source, so every tenant's data can be regenerated from its id
 * alone: the same tenant id always yields the same customers, products and orders, in any
 * process, without storing anything.
 */

/** FNV-1a over UTF-16 code units: a fast 32-bit hash, good enough to seed a PRNG. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both ends included. */
  int(min: number, max: number): number;
  pick<T>(values: readonly T[]): T;
  /** `count` distinct values in random order (all of them when `count` is larger). */
  sample<T>(values: readonly T[], count: number): T[];
}

/** mulberry32: 32 bits of state, full period, plenty for sample data. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: (values) => values[int(0, values.length - 1)] as (typeof values)[number],
    sample: (values, count) => {
      const pool = [...values];
      // Partial Fisher-Yates: only the first `count` slots need shuffling.
      const n = Math.min(count, pool.length);
      for (let i = 0; i < n; i++) {
        const j = int(i, pool.length - 1);
        [pool[i], pool[j]] = [pool[j] as (typeof pool)[number], pool[i] as (typeof pool)[number]];
      }
      return pool.slice(0, n);
    },
  };
}
