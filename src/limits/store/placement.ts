import type { Adjustment } from './types.js';

/**
 * Where an adjustment goes when it does not say: a refund where its charge was (`at`), an addition
 * (response bytes) in the current sub-bucket or period (`now`). The memory store and the ledger
 * use it, and the Redis store sends it to limiter.lua (as 'a' | 'n'), which takes it as given.
 */
export function placementOf({ placement, delta }: Pick<Adjustment, 'placement' | 'delta'>): 'at' | 'now' {
  return placement ?? (delta > 0 ? 'now' : 'at');
}
