import { hashString } from './prng.js';
import type { StockSeed } from './seed.js';
import type { Stock } from './records.js';

/** How long one stock level holds before it drifts to the next: 5 s, so polling sees change. */
export const STOCK_EPOCH_MS = 5000;
/** Largest drift from the seeded base, in units either way. */
const MAX_DRIFT = 10;

/** Units a tenant's placed orders took from one product, and when the last one did. */
export interface SoldUnits {
  units: number;
  lastAt: number;
}

/**
 * The stock of one product right now. `available` drifts every epoch (deterministically from the
 * tenant, product and epoch, so every process agrees) and drops by what placed orders took,
 * which move to `reserved` because placed orders are PENDING.
 */
export function stockLevel(tenantId: string, productId: string, seed: StockSeed, sold: SoldUnits | undefined, now: number): Stock {
  const epoch = Math.floor(now / STOCK_EPOCH_MS);
  const drift = seed.base === 0 ? 0 : (hashString(`${tenantId}|${productId}|${epoch}`) % (2 * MAX_DRIFT + 1)) - MAX_DRIFT;
  const soldUnits = sold?.units ?? 0;
  return {
    productId,
    available: Math.max(0, seed.base + drift - soldUnits),
    reserved: seed.reserved + soldUnits,
    warehouse: seed.warehouse,
    updatedAt: new Date(Math.max(epoch * STOCK_EPOCH_MS, sold?.lastAt ?? 0)).toISOString(),
  };
}
