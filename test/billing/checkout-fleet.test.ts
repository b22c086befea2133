import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';
import { deliverUntilOk, startFakeStripe, stripeEvent, subscriptionObject, type FakeStripe } from '../support/fake-stripe.js';

/**
 * Checkout to upgrade across a fleet: two gateway processes share one Redis and talk to a fake
 * Stripe that fails 10% of calls (500 or a hang past the client's timeout). Webhooks arrive
 * duplicated and out of order; with a Stripe key the gateway reads each subscription back, so
 * Stripe's current state wins whatever the order.
 */
const SECRET = 'whsec_test_checkout_fleet';
let redis: TestRedis;
let stripe: FakeStripe;
let gateways: GatewayProcess[] = [];

const patch = (config: Record<string, any>) => {
  config.defaultPlan = 'free';
  config.billing = {
    secretKey: 'sk_test_fake_gateway',
    webhookSecret: SECRET,
    apiUrl: stripe.url,
    apiTimeoutMs: 300,
    prices: {
      price_pro: { plan: 'pro', displayPrice: '$49 / month' },
      price_ent: { plan: 'enterprise', displayPrice: '$499 / month' },
      price_calls: { metered: true },
    },
  };
};

async function gql(gateway: GatewayProcess, token: string, query: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: any[] } };
}

const PLAN = '{ viewer { tenant { plan { id source } } } usage { limits { plan { id source } } } billing { pendingUpgrade { plan } } }';

/** acme's plan on one instance, `viewer` and `usage` agreeing, and the RateLimit-Policy it was served under. */
async function planOn(gateway: GatewayProcess) {
  const r = await gql(gateway, DEMO_TOKENS.acmeAdmin, PLAN);
  expect(r.body.errors).toBeUndefined();
  expect(r.body.data.viewer.tenant.plan).toEqual(r.body.data.usage.limits.plan);
  return { ...r.body.data.viewer.tenant.plan, pending: r.body.data.billing.pendingUpgrade?.plan ?? null };
}

/** A mutation retried as a user would click again: Stripe (here: the fake) fails some calls on purpose. */
async function retried(gateway: GatewayProcess, mutation: string): Promise<any> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const r = await gql(gateway, DEMO_TOKENS.acmeAdmin, mutation);
    if (!r.body.errors) return r.body.data;
    expect(r.body.errors[0].extensions.code).toBe('BILLING_UNAVAILABLE');
  }
  throw new Error(`${mutation} kept failing`);
}

beforeAll(async () => {
  redis = await startTestRedis();
  stripe = await startFakeStripe({ faultRate: 0.1, hangMs: 600, seed: 7 });
  gateways = await Promise.all([0, 1].map(() => startGatewayProcess({ redisUrl: redis.url, patch })));
}, 60_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await stripe?.close();
  await redis?.stop();
});

describe('checkout to upgrade on a fleet, against a faulty Stripe', () => {
  it('shows the upgrade pending on every instance, then applies it on every instance within 2 s of the webhook', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    expect(await planOn(b)).toEqual({ id: 'free', source: 'CONFIG', pending: null });

    const { startCheckout } = await retried(a, 'mutation { startCheckout(plan: "pro") { url } }');
    expect(startCheckout.url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/);
    const session = [...stripe.checkoutSessions.values()].at(-1)!;
    expect(session).toMatchObject({ mode: 'subscription', client_reference_id: 'acme', price: 'price_pro', subscription_metadata_tenant: 'acme' });
    expect(session.success_url).toBe(`${a.url}/dashboard/#/billing?checkout=success`);
    // One Stripe customer for the tenant, however often the call was retried.
    expect([...stripe.customers.values()].filter((c) => (c.metadata as { tenant: string }).tenant === 'acme')).toHaveLength(1);
    expect(await planOn(b)).toEqual({ id: 'free', source: 'CONFIG', pending: 'pro' });

    // The customer pays: Stripe now has the subscription and sends its events, the later one first, each twice.
    const sub = subscriptionObject({
      id: 'sub_fleet',
      customer: session.customer as string,
      status: 'active',
      prices: ['price_pro', 'price_calls'],
      tenant: 'acme',
    });
    stripe.subscriptions.set('sub_fleet', sub);
    const t = Math.floor(Date.now() / 1000);
    const completed = stripeEvent('checkout.session.completed', { ...session, customer: session.customer, subscription: 'sub_fleet' }, t);
    const created = stripeEvent('customer.subscription.created', { ...sub, status: 'incomplete' }, t);
    const deliveries = [created, completed, created, completed];
    const applied = await deliverUntilOk(`${b.url}/webhooks/billing`, deliveries[0]!, SECRET);
    expect(applied.body.result).toBe('applied');
    const acceptedAt = Date.now();
    for (const [i, event] of deliveries.slice(1).entries()) await deliverUntilOk(`${gateways[i % 2]!.url}/webhooks/billing`, event, SECRET);
    expect(await eventually(async () => (await planOn(a)).id === 'pro' && (await planOn(b)).id === 'pro', 2000, 20)).toBe(true);
    expect(Date.now() - acceptedAt).toBeLessThan(2000);
    for (const g of gateways) expect(await planOn(g)).toEqual({ id: 'pro', source: 'BILLING', pending: null });
    // The limits follow on every instance: pro's 1,000 per minute.
    expect((await gql(a, DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).headers.get('x-ratelimit-limit')).toBe('1000');
  });

  it('opens the customer portal for the tenant customer', async () => {
    const { openBillingPortal } = await retried(gateways[1]!, 'mutation { openBillingPortal { url } }');
    expect(openBillingPortal.url).toMatch(/^https:\/\/billing\.stripe\.test\/p\/session\/bps_/);
    const portal = [...stripe.portalSessions.values()].at(-1)!;
    expect(portal.customer).toBe([...stripe.customers.values()].find((c) => (c.metadata as { tenant: string }).tenant === 'acme')!.id);
  });

  it('lets the subscription Stripe has now win over stale and reordered deliveries, and keeps it across a restart', async () => {
    const customer = stripe.subscriptions.get('sub_fleet')!.customer as string;
    const t = Math.floor(Date.now() / 1000);
    const upgraded = subscriptionObject({ id: 'sub_fleet', customer, status: 'active', prices: ['price_ent', 'price_calls'], tenant: 'acme' });
    stripe.subscriptions.set('sub_fleet', upgraded);
    // A stale "updated" (still pro) arrives after the newer one, with a later timestamp even:
    // only reading the subscription back tells which state is Stripe's.
    const newer = stripeEvent('customer.subscription.updated', upgraded, t);
    const stale = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject({ id: 'sub_fleet', customer, status: 'active', prices: ['price_pro'] }),
      t + 5,
    );
    for (const event of [newer, stale, newer]) await deliverUntilOk(`${gateways[0]!.url}/webhooks/billing`, event, SECRET);
    expect(await eventually(async () => (await planOn(gateways[1]!)).id === 'enterprise', 2000, 20)).toBe(true);

    // Restart one instance: the plan comes back from Redis.
    await gateways[1]!.close();
    gateways[1] = await startGatewayProcess({ redisUrl: redis.url, patch });
    expect(await eventually(async () => (await planOn(gateways[1]!)).id === 'enterprise', 2000, 20)).toBe(true);
    expect(await planOn(gateways[1]!)).toEqual({ id: 'enterprise', source: 'BILLING', pending: null });
  }, 60_000);
});
