import Stripe from 'stripe';
import type { BillingConfig } from '../config/billing-schema.js';

/**
 * The official client, or null without a secret key. `billing.apiUrl` points it elsewhere (the
 * tests' and demo's fake Stripe) through the package's own host/port/protocol options. It retries
 * a failed call twice with its own backoff, and sends an idempotency key with each POST so a
 * retried create makes one object.
 */
export function createStripeClient(billing: BillingConfig): Stripe | null {
  if (!billing.secretKey) return null;
  const target = billing.apiUrl ? new URL(billing.apiUrl) : null;
  return new Stripe(billing.secretKey, {
    maxNetworkRetries: 2,
    // Default 5 s: a webhook that reads a subscription back still answers within Stripe's 10 s.
    timeout: billing.apiTimeoutMs,
    telemetry: false,
    ...(target
      ? {
          host: target.hostname,
          port: target.port || (target.protocol === 'https:' ? 443 : 80),
          protocol: target.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

/** Verifying a webhook needs no API key: the package's own webhooks helper, without a client. */
export const stripeWebhooks: (typeof Stripe)['webhooks'] = Stripe.webhooks;
export type StripeEvent = Stripe.Event;
export type StripeSubscription = Stripe.Subscription;

/** The client for the billing config in force: made again only when a reload changes the key or the URL. */
export function stripeClientOf(billing: () => BillingConfig): () => Stripe | null {
  let made: { key: string; client: Stripe | null } | null = null;
  return () => {
    const current = billing();
    const key = `${current.secretKey ?? ''}\n${current.apiUrl ?? ''}`;
    if (made?.key !== key) made = { key, client: createStripeClient(current) };
    return made.client;
  };
}
