import type { BillingPlan, SubscriptionStatus } from './billing-plan.js';

/** Statuses under which one subscription may replace another one of the same tenant: it pays, or did until lately. */
export const CURRENT: ReadonlySet<SubscriptionStatus> = new Set(['active', 'trialing', 'past_due']);

/** What one event (or a subscription read back from Stripe) says, and when. */
interface Observed {
  tenantId: string;
  eventId: string;
  /** The event's `created`, epoch ms. */
  eventAt: number;
  /** `billing.pastDueGraceSeconds` in ms. */
  graceMs: number;
  now: number;
}

/**
 * The tenant's next billing record after a subscription event, or null to leave it: an
 * incomplete or ended subscription never replaces the one in force, and an event older than the
 * record never overwrites it unless the state was just read back from Stripe. A past-due
 * subscription keeps the grace period it started with.
 */
export function afterSubscription(
  current: BillingPlan | undefined,
  o: Observed & { subscriptionId: string; customerId: string; status: SubscriptionStatus; paidPlanId: string | null; readBack: boolean },
): BillingPlan | null {
  const same = current?.subscriptionId === o.subscriptionId;
  if (current && !same && !CURRENT.has(o.status) && CURRENT.has(current.status)) return null;
  if (current && same && !o.readBack && current.eventAt > o.eventAt) return null;
  const keptGrace = same && current?.status === 'past_due' ? current.graceUntil : null;
  return {
    tenantId: o.tenantId,
    customerId: o.customerId,
    subscriptionId: o.subscriptionId,
    paidPlanId: o.paidPlanId ?? current?.paidPlanId ?? '',
    status: o.status,
    graceUntil: o.status === 'past_due' ? (keptGrace ?? o.eventAt + o.graceMs) : null,
    eventId: o.eventId,
    eventAt: Math.max(o.eventAt, current?.eventAt ?? 0),
    setAt: o.now,
  };
}

/**
 * Without a Stripe key to read the subscription back: `invoice.paid` makes the invoice's
 * subscription active again, `invoice.payment_failed` past due (its grace period starting at the
 * event). Only the subscription in force moves, and only forward in time.
 */
export function afterInvoice(current: BillingPlan | undefined, o: Omit<Observed, 'tenantId'> & { subscriptionId: string; paid: boolean }): BillingPlan | null {
  if (!current || current.subscriptionId !== o.subscriptionId || current.eventAt > o.eventAt || !CURRENT.has(current.status)) return null;
  const status: SubscriptionStatus = o.paid ? 'active' : 'past_due';
  const graceUntil = o.paid ? null : current.status === 'past_due' && current.graceUntil !== null ? current.graceUntil : o.eventAt + o.graceMs;
  return { ...current, status, graceUntil, eventId: o.eventId, eventAt: o.eventAt, setAt: o.now };
}
