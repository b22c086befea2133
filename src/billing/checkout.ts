import type Stripe from 'stripe';
import type { Config } from '../config/schema.js';
import type { BillingStore, PendingUpgrade } from './billing-store.js';
import type { BillingPlan } from './billing-plan.js';

/** A plan on sale: a price of `billing.prices` with a `displayPrice`. */
export interface PlanOffer {
  planId: string;
  displayName: string;
  priceId: string;
  displayPrice: string;
}

/** What the portal's billing page shows a tenant admin. */
export interface BillingOverview {
  /** Null when checkout works; otherwise what to configure. */
  setup: string | null;
  offers: PlanOffer[];
  subscription: BillingPlan | null;
  pending: PendingUpgrade | null;
}

/** Why a Checkout or portal session could not be made: not configured (501) or Stripe failed (502). */
export class BillingSessionError extends Error {
  constructor(
    readonly reason: 'not-configured' | 'unknown-plan' | 'no-customer' | 'stripe',
    message: string,
  ) {
    super(message);
  }
}

const SETUP =
  'Upgrades need Stripe: set billing.secretKey (or STRIPE_SECRET_KEY), billing.webhookSecret (or STRIPE_WEBHOOK_SECRET), and billing.prices with a displayPrice for each plan on sale.';

export function offersOf(config: Config): PlanOffer[] {
  return Object.entries(config.billing.prices).flatMap(([priceId, price]) =>
    price.plan && price.displayPrice && config.plans[price.plan]
      ? [{ planId: price.plan, displayName: config.plans[price.plan]!.displayName, priceId, displayPrice: price.displayPrice }]
      : [],
  );
}

/**
 * Checkout and customer-portal sessions for the portal's billing page, with the official client:
 * one Stripe customer per tenant (made on the first upgrade, keyed by an idempotency key so two
 * clicks make one), the tenant in `client_reference_id` and the subscription's metadata so the
 * webhook knows whose subscription it is, and an "upgrade pending" record until the event lands.
 */
export function createCheckout(deps: { store: BillingStore; stripe: () => Stripe | null; config: () => Config; returnUrl: () => string; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const returnUrl = () => deps.config().billing.returnUrl ?? deps.returnUrl();

  async function customerOf(stripe: Stripe, tenantId: string): Promise<string> {
    const known = await deps.store.customerOfTenant(tenantId);
    if (known) return known;
    const customer = await stripe.customers.create(
      { name: deps.config().tenants[tenantId]!.displayName, metadata: { tenant: tenantId } },
      { idempotencyKey: `gateway-customer-${tenantId}` },
    );
    await deps.store.linkCustomer(customer.id, tenantId);
    return customer.id;
  }

  const stripeOrThrow = () => {
    const stripe = deps.stripe();
    if (!stripe) throw new BillingSessionError('not-configured', SETUP);
    return stripe;
  };
  const stripeCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw new BillingSessionError('stripe', `Stripe did not answer as expected: ${(error as Error).message}`);
    }
  };

  return {
    async overview(tenantId: string): Promise<BillingOverview> {
      const config = deps.config();
      return {
        setup: deps.stripe() ? null : SETUP,
        offers: offersOf(config),
        subscription: deps.store.get(tenantId) ?? null,
        pending: await deps.store.pending(tenantId),
      };
    },
    /** A Checkout Session for `planId`; resolves to the URL to send the browser to. */
    async startCheckout(tenantId: string, planId: string): Promise<string> {
      const stripe = stripeOrThrow();
      const offer = offersOf(deps.config()).find((o) => o.planId === planId);
      if (!offer) throw new BillingSessionError('unknown-plan', `Plan "${planId}" is not on sale: billing.prices has no price with a displayPrice for it.`);
      const back = returnUrl();
      const session = await stripeCall(async () =>
        stripe.checkout.sessions.create({
          mode: 'subscription',
          customer: await customerOf(stripe, tenantId),
          client_reference_id: tenantId,
          line_items: [{ price: offer.priceId, quantity: 1 }],
          subscription_data: { metadata: { tenant: tenantId } },
          success_url: `${back}${back.includes('?') ? '&' : '?'}checkout=success`,
          cancel_url: `${back}${back.includes('?') ? '&' : '?'}checkout=cancelled`,
        }),
      );
      if (!session.url) throw new BillingSessionError('stripe', 'Stripe returned a Checkout Session without a URL.');
      await deps.store.setPending(tenantId, { planId, sessionId: session.id, at: now() });
      return session.url;
    },
    /** A customer-portal session (manage payment method, cancel); needs a customer made by an earlier checkout. */
    async openPortal(tenantId: string): Promise<string> {
      const stripe = stripeOrThrow();
      const customer = await deps.store.customerOfTenant(tenantId);
      if (!customer) throw new BillingSessionError('no-customer', 'There is no billing account yet: upgrade once to create it.');
      const session = await stripeCall(() => stripe.billingPortal.sessions.create({ customer, return_url: returnUrl() }));
      return session.url;
    },
  };
}

export type Checkout = ReturnType<typeof createCheckout>;
