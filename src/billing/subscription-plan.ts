import type { BillingConfig } from '../config/billing-schema.js';

/** What a subscription's items grant, read over all of them (never "the first item"). */
export type ItemsVerdict =
  | { kind: 'plan'; planId: string }
  /** A price missing from `billing.prices`: nothing is applied (fail closed) and an alert is raised. */
  | { kind: 'unknown-price'; priceIds: string[] }
  /** Items granting two different plans: nothing is applied, an alert is raised. */
  | { kind: 'ambiguous'; planIds: string[] }
  /** Only metered items: the subscription carries no plan. */
  | { kind: 'no-plan' };

/**
 * Maps a subscription's items to a plan through the explicit `price -> plan` table. Metered
 * prices ride along (an overage item never downgrades a paying tenant); any price the table does
 * not know makes the whole subscription unknown rather than guessing from the others.
 */
export function planOfItems(prices: BillingConfig['prices'], priceIds: readonly string[]): ItemsVerdict {
  const unknown = priceIds.filter((id) => !Object.hasOwn(prices, id));
  if (unknown.length > 0) return { kind: 'unknown-price', priceIds: unknown };
  const plans = [...new Set(priceIds.flatMap((id) => (prices[id]!.plan === undefined ? [] : [prices[id]!.plan!])))];
  if (plans.length > 1) return { kind: 'ambiguous', planIds: plans.sort() };
  return plans.length === 1 ? { kind: 'plan', planId: plans[0]! } : { kind: 'no-plan' };
}
