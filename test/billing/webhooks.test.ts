import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';
import { deliver, deliverUntilOk, invoiceObject, stripeEvent, subscriptionObject } from '../support/fake-stripe.js';

/**
 * Stripe webhooks without a Stripe key: each event's payload is applied as sent, ordered by its
 * `created`. The failure modes other projects met, one test each.
 */
const SECRET = 'whsec_test_billing_webhooks';
let redis: TestRedis;
let gateway: TestGateway;
let hook: string;
let alertReceiver: Server;
const alerts: Record<string, any>[] = [];

const billingPatch = (config: Record<string, any>) => {
  config.defaultPlan = 'free';
  config.billing = {
    ...config.billing,
    webhookSecret: SECRET,
    prices: { price_pro: { plan: 'pro', displayPrice: '$49 / month' }, price_ent: { plan: 'enterprise' }, price_calls: { metered: true } },
    pastDueGraceSeconds: 2,
    pastDuePlan: 'free',
  };
  config.limits = { overridesPollMs: 200 };
};

const PLAN = '{ viewer { tenant { plan { id source expiresAt } } } usage { limits { plan { id source expiresAt } requestsPerMinute } } }';
const TOKENS = { acme: DEMO_TOKENS.acmeAdmin, globex: DEMO_TOKENS.globexAdmin, initech: DEMO_TOKENS.initechAdmin } as const;

/** The tenant's plan as `viewer` shows it, after checking `usage` agrees. */
async function planOf(tenant: keyof typeof TOKENS) {
  const r = await gateway.gql(TOKENS[tenant], PLAN);
  expect(r.body.errors).toBeUndefined();
  expect(r.body.data.viewer.tenant.plan).toEqual(r.body.data.usage.limits.plan);
  return r.body.data.viewer.tenant.plan as { id: string; source: string; expiresAt: string | null };
}

async function billingAudit(tenantId: string) {
  const r = await gateway.gql(
    DEMO_TOKENS.platformAdmin,
    `{ fleetUsage { auditTrail(tenantId: "${tenantId}", first: 50) { entries { source by eventId before after } } } }`,
  );
  return (r.body.data.fleetUsage.auditTrail.entries as Record<string, string>[]).filter((e) => e.source === 'billing');
}

const now = () => Math.floor(Date.now() / 1000);
const send = (event: ReturnType<typeof stripeEvent>) => deliver(hook, event, SECRET);

beforeAll(async () => {
  alertReceiver = createServer((request, response) => {
    let body = '';
    request.on('data', (c) => (body += c));
    request.on('end', () => {
      alerts.push(JSON.parse(body));
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => alertReceiver.listen(0, '127.0.0.1', resolve));
  const alertUrl = `http://127.0.0.1:${(alertReceiver.address() as AddressInfo).port}/alerts`;
  redis = await startTestRedis();
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (c) => {
      billingPatch(c);
      c.alerts = { webhookUrl: alertUrl, webhookSecret: 'alert-secret-0123456789' };
    },
  });
  hook = `${gateway.url}/webhooks/billing`;
});
afterAll(async () => {
  await gateway?.close();
  await redis?.stop();
  alertReceiver?.close();
});

describe('POST /webhooks/billing', () => {
  it('refuses a bad, missing or stale signature with 400 and applies nothing', async () => {
    const event = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_x', customer: 'cus_x', status: 'active', prices: ['price_pro'], tenant: 'acme' }),
    );
    const wrongSecret = await deliver(hook, event, 'whsec_someone_else');
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.errors[0].extensions.code).toBe('INVALID_SIGNATURE');
    expect(wrongSecret.body.errors[0].message).toMatch(/^Billing webhook refused, nothing applied: No signatures found matching the expected signature/);
    const stale = await deliver(hook, event, SECRET, { timestamp: now() - 301 });
    expect(stale).toMatchObject({ status: 400, body: { errors: [{ message: expect.stringContaining('Timestamp outside the tolerance zone') }] } });
    const missing = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    expect(missing.status).toBe(400);
    expect(await planOf('acme')).toEqual({ id: 'free', source: 'CONFIG', expiresAt: null });
    // The same event, signed properly, is still new: a refused delivery was not recorded.
    expect((await send(event)).body).toMatchObject({ received: true, result: 'applied', tenantId: 'acme' });
  });

  it('applies a subscription over all its items (a metered item does not decide the plan), once per event id', async () => {
    const created = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_acme', customer: 'cus_acme', status: 'active', prices: ['price_calls', 'price_pro'], tenant: 'acme' }),
    );
    expect((await send(created)).body).toMatchObject({ result: 'applied', tenantId: 'acme' });
    expect(await planOf('acme')).toEqual({ id: 'pro', source: 'BILLING', expiresAt: null });
    // Stripe delivers the same event again (it retries for days): 200, nothing changes.
    expect((await send(created)).body).toEqual({ received: true, result: 'duplicate' });
    // One plan change so far (the first test's subscription); moving to another subscription on the same plan is none.
    expect(await billingAudit('acme')).toEqual([
      { source: 'billing', by: 'stripe', eventId: expect.stringMatching(/^evt_/), before: 'free (config)', after: 'pro (billing)' },
    ]);
  });

  it('never lets an older event overwrite a newer one ("updated" before "created")', async () => {
    const t = now();
    const newer = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject({ id: 'sub_g', customer: 'cus_g', status: 'active', prices: ['price_ent'], tenant: 'globex' }),
      t + 10,
    );
    const older = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_g', customer: 'cus_g', status: 'active', prices: ['price_pro'], tenant: 'globex' }),
      t,
    );
    expect((await send(newer)).body.result).toBe('applied');
    expect((await send(older)).body).toEqual({ received: true, result: 'unchanged', tenantId: 'globex' });
    expect(await planOf('globex')).toEqual({ id: 'enterprise', source: 'BILLING', expiresAt: null });
  });
});

describe('POST /webhooks/billing: what is not applied, and what a subscription status grants', () => {
  it('answers 200 to an unknown price or customer, changes nothing and raises an alert', async () => {
    const unknownPrice = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject({ id: 'sub_acme', customer: 'cus_acme', status: 'active', prices: ['price_pro', 'price_gold'] }),
      now() + 60,
    );
    expect(await send(unknownPrice)).toEqual({ status: 200, body: { received: true, result: 'unapplied', reason: 'unknown-price', tenantId: 'acme' } });
    const unknownCustomer = stripeEvent(
      'customer.subscription.updated',
      subscriptionObject({ id: 'sub_z', customer: 'cus_nobody', status: 'active', prices: ['price_ent'] }),
    );
    expect((await send(unknownCustomer)).body).toEqual({ received: true, result: 'unapplied', reason: 'unknown customer' });
    expect(await planOf('acme')).toMatchObject({ id: 'pro', source: 'BILLING' });
    expect(await eventually(() => alerts.filter((a) => a.kind === 'billing_unapplied').length === 2)).toBe(true);
    expect(alerts.find((a) => a.details?.eventId === unknownPrice.id)).toMatchObject({
      kind: 'billing_unapplied',
      tenantId: 'acme',
      details: { reason: 'unknown-price', priceIds: ['price_gold'], eventType: 'customer.subscription.updated' },
    });
  });

  it('never grants the paid plan to an incomplete subscription, nor lets one replace the subscription in force', async () => {
    const fresh = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_i', customer: 'cus_i', status: 'incomplete', prices: ['price_ent'], tenant: 'initech' }),
    );
    await send(fresh);
    const initech = await planOf('initech');
    expect(initech).toEqual({ id: 'enterprise', source: 'CONFIG', expiresAt: null });
    const upgradeAttempt = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_acme_2', customer: 'cus_acme', status: 'incomplete_expired', prices: ['price_ent'] }),
      now() + 120,
    );
    expect((await send(upgradeAttempt)).body.result).toBe('unchanged');
    expect(await planOf('acme')).toMatchObject({ id: 'pro', source: 'BILLING' });
  });

  it('keeps the paid plan through the past-due grace period, then drops to pastDuePlan (audited once), and invoice.paid restores it', async () => {
    const t = now();
    const failed = stripeEvent('invoice.payment_failed', invoiceObject({ id: 'in_1', customer: 'cus_acme', subscription: 'sub_acme' }), t);
    expect((await send(failed)).body.result).toBe('applied');
    // Grace ends pastDueGraceSeconds (2 s) after the event's own time.
    expect(await planOf('acme')).toEqual({ id: 'pro', source: 'BILLING', expiresAt: new Date((t + 2) * 1000).toISOString() });
    expect(await eventually(async () => (await planOf('acme')).id === 'free', 5000)).toBe(true);
    expect(await planOf('acme')).toEqual({ id: 'free', source: 'BILLING', expiresAt: null });
    const expiry = async () => {
      const r = await gateway.gql(
        DEMO_TOKENS.platformAdmin,
        '{ fleetUsage { auditTrail(tenantId: "acme", first: 50) { entries { source by before after } } } }',
      );
      return (r.body.data.fleetUsage.auditTrail.entries as Record<string, string>[]).filter((e) => e.source === 'expiry');
    };
    expect(await eventually(async () => (await expiry()).length === 1, 3000)).toBe(true);
    expect(await expiry()).toEqual([{ source: 'expiry', by: 'clock', before: 'pro (billing)', after: 'free (billing)' }]);

    const paid = stripeEvent('invoice.paid', invoiceObject({ id: 'in_1', customer: 'cus_acme', subscription: 'sub_acme' }), t + 1);
    expect((await send(paid)).body.result).toBe('applied');
    expect(await planOf('acme')).toEqual({ id: 'pro', source: 'BILLING', expiresAt: null });
    expect((await billingAudit('acme'))[0]).toMatchObject({ eventId: paid.id, before: 'free (billing)', after: 'pro (billing)' });
  });

  it('returns a tenant whose subscription is deleted to the default plan', async () => {
    const deleted = stripeEvent(
      'customer.subscription.deleted',
      subscriptionObject({ id: 'sub_g', customer: 'cus_g', status: 'canceled', prices: ['price_ent'] }),
      now() + 400,
    );
    expect((await deliverUntilOk(hook, deleted, SECRET)).body.result).toBe('applied');
    expect(await planOf('globex')).toEqual({ id: 'free', source: 'BILLING', expiresAt: null });
    expect((await billingAudit('globex'))[0]).toMatchObject({ eventId: deleted.id, before: 'enterprise (billing)', after: 'free (billing)' });
  });
});

describe('the billing page without a Stripe key', () => {
  it('says what to configure, still lists the plans on sale, and refuses checkout with BILLING_NOT_CONFIGURED', async () => {
    const page = await gateway.gql(
      DEMO_TOKENS.initechAdmin,
      '{ billing { setup plan { id source } offers { plan displayName price current } pendingUpgrade { plan } } }',
    );
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data.billing).toEqual({
      setup:
        'Upgrades need Stripe: set billing.secretKey (or STRIPE_SECRET_KEY), billing.webhookSecret (or STRIPE_WEBHOOK_SECRET), and billing.prices with a displayPrice for each plan on sale.',
      plan: { id: 'enterprise', source: 'CONFIG' },
      offers: [{ plan: 'pro', displayName: 'Pro', price: '$49 / month', current: false }],
      pendingUpgrade: null,
    });
    const checkout = await gateway.gql(DEMO_TOKENS.initechAdmin, 'mutation { startCheckout(plan: "pro") { url } }');
    expect(checkout.body.errors![0]).toMatchObject({
      message: expect.stringMatching(/^Upgrades need Stripe: set billing.secretKey/),
      extensions: { code: 'BILLING_NOT_CONFIGURED' },
    });
  });

  it('names the default plan and the prices on /docs/limits', async () => {
    const html = await (await fetch(`${gateway.url}/docs/limits`)).text();
    expect(html).toContain('Tenants that name no plan of their own are on <a href="#free">Free</a>.');
    expect(html).toContain('<h3>Pro <code>pro</code> ($49 / month)</h3>');
  });

  it('keeps billing to tenant admins with a secret key', async () => {
    const viewer = await gateway.gql(DEMO_TOKENS.globexViewer, '{ billing { setup } }');
    expect(viewer.body.errors![0]).toMatchObject({ message: "Billing is managed with a tenant admin's secret API key.", extensions: { code: 'FORBIDDEN' } });
  });
});
