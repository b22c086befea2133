import type { Dimension, LeaseRequest } from './types.js';

/**
 * What a lease reserves (ALGORITHM.md, "Leases" and "Byte budgets in leases"), defined once: the
 * memory store runs it, limiter.lua mirrors it (each function names its twin there), and
 * test/limits/store/random-steps.test.ts runs both on the same lease calls.
 */

/** One dimension of an admitted lease call, as the grant reads it. */
export interface LeaseCandidate {
  dimension: Dimension;
  /** What the key counts now, before the request's own charge. */
  used: number;
  /** A calendar dimension: the start of the next period (no lease across it). */
  periodEndsAt?: number;
}

/**
 * What one request of a lease takes of a dimension: its amount, or on a check-only dimension (a
 * response-byte budget) the bytes reserved per request (0: such a dimension cannot be leased).
 * Lua: `lease_amount`.
 */
export function leaseAmount(dimension: Dimension, bytesPerRequest: number): number {
  return dimension.checkOnly ? bytesPerRequest : dimension.amount;
}

/**
 * How many more of the request's amounts one lease call reserves, 0 for none: at most
 * `request.tokens`, while every dimension keeps `keepPermille` of its limit unreserved and the lease
 * (the request included) holds at most `sharePermille` of it. None across a calendar period's end,
 * none with a check-only dimension unless bytes are reserved for it, none without a counted
 * dimension. Lua: `lease_grant`.
 */
export function leaseGrant(candidates: readonly LeaseCandidate[], request: LeaseRequest, now: number): number {
  const perRequest = request.bytesPerRequest ?? 0;
  let granted = request.tokens;
  let charged = false;
  for (const { dimension, used, periodEndsAt } of candidates) {
    const amount = leaseAmount(dimension, perRequest);
    if (dimension.checkOnly && amount <= 0) granted = 0;
    if (periodEndsAt !== undefined && now + request.lifetimeMs >= periodEndsAt) granted = 0;
    if (!dimension.checkOnly && dimension.amount > 0) charged = true;
    if (amount > 0) {
      const free = dimension.limit - Math.ceil((dimension.limit * request.keepPermille) / 1000) - used;
      const cap = Math.min(Math.floor((dimension.limit * request.sharePermille) / (1000 * amount)), Math.floor(free / amount)) - 1;
      if (cap < granted) granted = cap;
    }
  }
  return charged && granted >= 1 ? granted : 0;
}

/** What a charge takes of a dimension per request (its own and each token of a granted lease): 0 for nothing. Lua: `lease_charge`. */
export function leaseCharge(dimension: Dimension, bytesPerRequest: number, granted: number): number {
  if (!dimension.checkOnly) return dimension.amount;
  return granted > 0 ? bytesPerRequest : 0;
}
