import type { Config } from '../config/schema.js';

/** Stripe's subscription statuses (the API's own names). */
export type SubscriptionStatus = 'active' | 'trialing' | 'past_due' | 'unpaid' | 'canceled' | 'incomplete' | 'incomplete_expired' | 'paused';

/** Statuses under which a subscription grants its paid plan (past_due only within its grace period). */
const GRANTING: ReadonlySet<SubscriptionStatus> = new Set(['active', 'trialing']);

/**
 * What billing says of one tenant: its subscription, the paid plan the subscription's items
 * grant, and its status. Written by the webhook route, read from a local snapshot on every
 * request (billing-store.ts). The plan in force is derived from it at read time (`billingPlanAt`),
 * so the end of a grace period needs no timer to take effect.
 */
export interface BillingPlan {
  tenantId: string;
  customerId: string;
  subscriptionId: string;
  /** The plan the subscription's items map to (`billing.prices`). */
  paidPlanId: string;
  status: SubscriptionStatus;
  /** Epoch ms a `past_due` subscription keeps its paid plan until; null when not past due. */
  graceUntil: number | null;
  /** The Stripe event that last changed this record, and its `created` (epoch ms): older events are ignored. */
  eventId: string;
  eventAt: number;
  /** Epoch ms the gateway wrote it. */
  setAt: number;
}

/** The plan billing puts a tenant on at `now`, and until when; null: billing grants nothing (the config plan applies). */
export function billingPlanAt(config: Config, plan: BillingPlan, now: number): { planId: string; expiresAt: number | null } | null {
  const tenant = config.tenants[plan.tenantId];
  if (!tenant) return null;
  if (GRANTING.has(plan.status)) return { planId: plan.paidPlanId, expiresAt: null };
  if (plan.status === 'past_due' && plan.graceUntil !== null && now < plan.graceUntil) return { planId: plan.paidPlanId, expiresAt: plan.graceUntil };
  if (plan.status === 'past_due' || plan.status === 'unpaid' || plan.status === 'paused') {
    return { planId: config.billing.pastDuePlan ?? config.defaultPlan ?? tenant.plan, expiresAt: null };
  }
  if (plan.status === 'canceled') return { planId: config.billing.canceledPlan ?? config.defaultPlan ?? tenant.plan, expiresAt: null };
  // incomplete, incomplete_expired: the first payment never went through; nothing is granted.
  return null;
}
