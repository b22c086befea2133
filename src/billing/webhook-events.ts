import type Stripe from 'stripe';
import type { Alerts } from '../alerts/alerts.js';
import type { AuditLog } from '../audit/limit-changes.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { SubscriptionStatus } from './billing-plan.js';
import type { BillingStore } from './billing-store.js';
import { planOfItems } from './subscription-plan.js';
import { afterInvoice, afterSubscription, CURRENT } from './subscription-transition.js';
import { createPlanRecorder, type EventOutcome } from './plan-recorder.js';

/** The same event id is being applied by another request: answered 409, Stripe's retry finds it done. */
export class EventInProgressError extends Error {}

export interface BillingEventsDeps {
  store: BillingStore;
  audit: AuditLog;
  alerts: Pick<Alerts, 'billingUnapplied'>;
  config: () => Config;
  /** The Stripe client, to read a subscription back: then its current state wins over the event's. Null: the event's payload, ordered by `created`. */
  stripe: () => Stripe | null;
  logger: Logger;
  /** Epoch ms; a test clock in tests. */
  now?: () => number;
}

/** The part of a subscription the gateway reads. */
interface SubscriptionView {
  id: string;
  customerId: string;
  status: SubscriptionStatus;
  priceIds: string[];
  /** `metadata.tenant`, set by the gateway's own Checkout Session. */
  tenantHint: string | null;
}

const idOf = (value: string | { id: string } | null | undefined): string | null => (typeof value === 'string' ? value : (value?.id ?? null));

function viewOf(sub: Stripe.Subscription): SubscriptionView {
  return {
    id: sub.id,
    customerId: idOf(sub.customer) ?? '',
    status: sub.status as SubscriptionStatus,
    priceIds: (sub.items?.data ?? []).map((item) => idOf(item.price) ?? ''),
    tenantHint: sub.metadata?.tenant ?? null,
  };
}

/** The subscription an invoice belongs to: `parent.subscription_details` (current API) or the older top-level field. */
function subscriptionOfInvoice(invoice: Stripe.Invoice): string | null {
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null }).subscription;
  return idOf(invoice.parent?.subscription_details?.subscription) ?? idOf(legacy);
}

/**
 * Applies Stripe's billing events to tenants' billing records, idempotently by event id: a
 * replay is answered 200 and changes nothing; an event older than the record (by `created`)
 * never overwrites it, and with a Stripe key the subscription is read back so the newest state
 * wins whatever the delivery order. Unknown prices and customers change nothing, are answered
 * 200 and raise an alert (fail closed).
 */
export function createBillingEvents(deps: BillingEventsDeps) {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;

  function unapplied(event: Stripe.Event, reason: string, tenantId?: string, details: Record<string, unknown> = {}): EventOutcome {
    deps.alerts.billingUnapplied({ eventId: event.id, eventType: event.type, reason, ...(tenantId ? { tenantId } : {}), details });
    logger.warn({ eventId: event.id, type: event.type, reason, tenantId, ...details }, 'billing event not applied');
    return { result: 'unapplied', reason, ...(tenantId ? { tenantId } : {}) };
  }

  async function tenantOf(customerId: string, hint: string | null): Promise<string | null> {
    const config = deps.config();
    const linked = customerId ? await store.tenantOfCustomer(customerId) : null;
    if (linked && Object.hasOwn(config.tenants, linked)) return linked;
    if (hint && Object.hasOwn(config.tenants, hint) && customerId) {
      await store.linkCustomer(customerId, hint);
      return hint;
    }
    return null;
  }

  const record = createPlanRecorder({ store, audit: deps.audit, config: deps.config, logger, now });

  async function applySubscription(event: Stripe.Event, sub: SubscriptionView, options: { deleted: boolean; readBack: boolean }): Promise<EventOutcome> {
    const config = deps.config();
    const tenantId = await tenantOf(sub.customerId, sub.tenantHint);
    if (!tenantId) return unapplied(event, 'unknown customer', undefined, { customerId: sub.customerId });
    const status: SubscriptionStatus = options.deleted ? 'canceled' : sub.status;
    const grants = CURRENT.has(status);
    const verdict = planOfItems(config.billing.prices, sub.priceIds);
    if (grants && verdict.kind !== 'plan') return unapplied(event, verdict.kind, tenantId, { subscriptionId: sub.id, ...verdict });
    const eventAt = event.created * 1000;
    const graceMs = config.billing.pastDueGraceSeconds * 1000;
    const change = { subscriptionId: sub.id, customerId: sub.customerId, status, paidPlanId: verdict.kind === 'plan' ? verdict.planId : null };
    return record(event, tenantId, (current) =>
      afterSubscription(current, { ...change, tenantId, eventId: event.id, eventAt, graceMs, readBack: options.readBack, now: now() }),
    );
  }

  /** Without a Stripe key to read the subscription back: the invoice moves the record it belongs to. */
  async function applyInvoice(event: Stripe.Event, invoice: Stripe.Invoice, subscriptionId: string, paid: boolean): Promise<EventOutcome> {
    const tenantId = await tenantOf(idOf(invoice.customer) ?? '', null);
    if (!tenantId) return unapplied(event, 'unknown customer', undefined, { customerId: idOf(invoice.customer) });
    const eventAt = event.created * 1000;
    return record(event, tenantId, (current) =>
      afterInvoice(current, { subscriptionId, paid, eventId: event.id, eventAt, graceMs: deps.config().billing.pastDueGraceSeconds * 1000, now: now() }),
    );
  }

  async function readBack(subscriptionId: string): Promise<SubscriptionView | null> {
    const stripe = deps.stripe();
    return stripe ? viewOf(await stripe.subscriptions.retrieve(subscriptionId)) : null;
  }

  async function apply(event: Stripe.Event): Promise<EventOutcome> {
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object;
        const tenantId = session.client_reference_id;
        if (!tenantId || !Object.hasOwn(deps.config().tenants, tenantId)) return unapplied(event, 'unknown tenant', undefined, { clientReferenceId: tenantId });
        const customerId = idOf(session.customer);
        if (customerId) await store.linkCustomer(customerId, tenantId);
        const subscriptionId = idOf(session.subscription);
        const current = subscriptionId ? await readBack(subscriptionId) : null;
        return current ? applySubscription(event, current, { deleted: false, readBack: true }) : { result: 'applied', tenantId };
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sent = viewOf(event.data.object);
        const current = await readBack(sent.id);
        return applySubscription(event, current ?? sent, {
          deleted: event.type === 'customer.subscription.deleted' || current?.status === 'canceled',
          readBack: current !== null,
        });
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const invoice = event.data.object;
        const subscriptionId = subscriptionOfInvoice(invoice);
        if (!subscriptionId) return { result: 'ignored', reason: 'invoice without a subscription' };
        const current = await readBack(subscriptionId);
        return current
          ? applySubscription(event, current, { deleted: current.status === 'canceled', readBack: true })
          : applyInvoice(event, invoice, subscriptionId, event.type === 'invoice.paid');
      }
      default:
        return { result: 'ignored', reason: `event type ${event.type} is not used` };
    }
  }

  return {
    /** Applies one verified event at most once; throws EventInProgressError or a store/Stripe error (answered 409 / 5xx: Stripe retries). */
    async handle(event: Stripe.Event): Promise<EventOutcome> {
      const claim = await store.claimEvent(event.id);
      if (claim === 'done') return { result: 'duplicate' };
      if (claim === 'busy') throw new EventInProgressError(`event ${event.id} is being applied`);
      try {
        const outcome = await apply(event);
        await store.settleEvent(event.id, 'done');
        return outcome;
      } catch (error) {
        await store.settleEvent(event.id, 'failed').catch(() => {});
        throw error;
      }
    },
  };
}

export type BillingEvents = ReturnType<typeof createBillingEvents>;
