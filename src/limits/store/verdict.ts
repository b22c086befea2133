import type { Dimension } from './types.js';

/**
 * A dimension's verdict on what it counts, for every kind of dimension, defined once: the memory
 * store runs it and limiter.lua mirrors it (each function names its twin there). See
 * sliding-window.ts for how a change to it is checked.
 */

/**
 * Whether the request fits on top of `used`: used + amount ≤ limit; a check-only dimension
 * (charging nothing) fits while used < limit. Lua: `fits`.
 */
export function fits(dimension: Dimension, used: number): boolean {
  return dimension.checkOnly ? used < dimension.limit : used + dimension.amount <= dimension.limit;
}

/**
 * Whether the request can never fit, whatever leaves the window or period (amount > limit, or
 * check-only with limit 0): its retry-after is then the whole window or period. Lua: `never_fits`.
 */
export function neverFits(dimension: Dimension): boolean {
  return dimension.checkOnly ? dimension.limit <= 0 : dimension.amount > dimension.limit;
}

/**
 * Whether a request that does not fit may be held in the dimension's burst zone: a sliding
 * dimension with a burst, charged (not check-only, a positive amount that can ever fit), whose
 * `used` (admitted in the window and held ahead) plus the amount is at most limit + burst.
 * Lua: `within_burst`.
 */
export function withinBurst(dimension: Dimension, used: number): boolean {
  if (dimension.kind !== 'sliding' || dimension.burst === undefined || dimension.checkOnly || dimension.amount <= 0) return false;
  return !neverFits(dimension) && used + dimension.amount <= dimension.limit + dimension.burst.amount;
}
