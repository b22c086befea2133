import type { MeterConfig } from '../config/billing-schema.js';

/** What a meter reads of an hour's usage bucket (usage/store.ts BucketCounts and UsageTotals both give it). */
export interface HourCounts {
  requests: number;
  throttled: number;
  /** Milli-points, as the usage store keeps them (an integer). */
  actualCostMilli: number;
}

/**
 * The units a meter bills for one tenant-hour: the one definition the hour closer and
 * reconciliation share, so both read the same number from the same bucket. Throttled requests
 * never ran and are not billed; cost points are rounded per hour (Stripe sums whole units).
 */
export function meterValue(measure: MeterConfig['measure'], counts: HourCounts): number {
  if (measure === 'requests') return Math.max(0, counts.requests - counts.throttled);
  return Math.round(counts.actualCostMilli / 1000);
}
