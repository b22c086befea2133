import type { Dimension } from './types.js';
import { withinBurst } from './verdict.js';

/**
 * Graduated throttling's decision across a check's dimensions, defined once (ALGORITHM.md,
 * "Graduated throttling"): the memory store runs it, limiter.lua mirrors it. See sliding-window.ts
 * for how a change to it is checked.
 */

/** One dimension of a `consume` that did not fit now, as the hold decision reads it. */
export interface HoldCandidate {
  dimension: Dimension;
  /** What the key counts now, held requests ahead included. */
  used: number;
  /** Whether it fits now. */
  allowed: boolean;
  /** A sliding dimension that does not fit: the earliest time it does (`holdUntil`). Only asked when within the burst. */
  fitsAt(): number;
  /** A calendar dimension: the start of the next period (a hold never runs in another period than its charge). */
  periodEndsAt?: number;
}

/**
 * When a `consume` that does not fit now runs, or null to refuse it: every dimension that does not
 * fit must hold it (`withinBurst`) no more than its `maxDelayMs` from now; it runs at the latest of
 * those times (a dimension that fits at an earlier time still fits later: what it counts only
 * leaves), and not in a later calendar period than now's (its charge goes to now's). Lua: `hold_at`.
 */
export function holdAt(candidates: readonly HoldCandidate[], now: number): number | null {
  let runAt = now;
  for (const candidate of candidates) {
    if (candidate.allowed) continue;
    const { dimension } = candidate;
    if (dimension.kind !== 'sliding' || dimension.burst === undefined || !withinBurst(dimension, candidate.used)) return null;
    const at = candidate.fitsAt();
    if (at - now > dimension.burst.maxDelayMs) return null;
    if (at > runAt) runAt = at;
  }
  for (const candidate of candidates) {
    if (candidate.periodEndsAt !== undefined && runAt >= candidate.periodEndsAt) return null;
  }
  return runAt;
}
