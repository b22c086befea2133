import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBillingStore, type BillingStore } from '../../src/billing/billing-store.js';
import { createMeteredBilling } from '../../src/billing/metered-billing.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventTimestamp, HOUR_MS, hourOf, meterEventIdentifier } from '../../src/billing/meter-hours.js';
import { createRedisMeterOutbox } from '../../src/billing/meter-outbox.js';
import { stripeClientOf } from '../../src/billing/stripe-client.js';
import { billingSchema } from '../../src/config/billing-schema.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { eventually } from '../support/eventually.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { event, meterInto, silent } from '../usage/helpers.js';

/**
 * Metered billing on a fleet: two gateway processes share one Redis and send the closed hours'
 * usage to a fake Stripe that is down at first (every call fails: half answer 500, half apply and
 * then time out), then fails 10% of calls. Both processes are killed (SIGKILL) during the
 * outage and started again, and one again once sending has resumed. Every tenant-hour reaches Stripe exactly once, and reconciliation finds no
 * difference. The usage is in hours already past, so nothing waits for an hour to end (the test
 * clock of metered-billing.test.ts covers closing as time moves).
 */
let server: TestRedis;
let stripe: FakeStripe;
let redis: Redis;
let gateways: GatewayProcess[] = [];
let billingStore: BillingStore;

const billingBlock = () => ({
  secretKey: 'sk_test_metered_fleet',
  apiUrl: stripe.url,
  apiTimeoutMs: 300,
  meters: {
    calls: { eventName: 'api_calls', meterId: 'mtr_calls', measure: 'requests', plans: ['pro'] },
    points: { eventName: 'cost_points', meterId: 'mtr_points', measure: 'costPoints', plans: ['pro', 'enterprise'] },
  },
  // The fake Stripe's summaries are up to date at once: no wait before comparing.
  metering: { sendEveryMs: 100, summaryLagSeconds: 0 },
});
const patch = (config: Record<string, any>) => {
  config.billing = billingBlock();
};
const start = () => startGatewayProcess({ redisUrl: server.url, patch });

beforeAll(async () => {
  server = await startTestRedis();
  stripe = await startFakeStripe({ faultRate: 1, hangMs: 400, seed: 5, applyBeforeTimeout: true });
  stripe.meters.set('mtr_calls', 'api_calls');
  stripe.meters.set('mtr_points', 'cost_points');
  redis = new Redis(server.url);
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  billingStore?.close();
  redis?.disconnect();
  await stripe?.close();
  await server?.stop();
});

describe('metered billing across a Stripe outage and a killed instance', () => {
  it('sends every closed tenant-hour exactly once and reconciles to zero difference', async () => {
    const usage = createRedisUsageStore({ redis });
    billingStore = createRedisBillingStore({ redis, pollMs: 1000, logger: silent });
    await billingStore.linkCustomer('cus_acme', 'acme');
    await billingStore.linkCustomer('cus_initech', 'initech');
    const expected = new Map<string, number>();
    const first = hourOf(Date.now()) - 5 * HOUR_MS;
    for (let h = 0; h < 4; h++) {
      const hour = first + h * HOUR_MS;
      const acme = Array.from({ length: 6 + h }, (_, i) => event({ tenantId: 'acme', planId: 'pro', at: hour + i * 1000, actualCost: 2 }));
      const initech = Array.from({ length: 3 }, (_, i) => event({ tenantId: 'initech', planId: 'enterprise', at: hour + i * 1000, actualCost: 5 }));
      await meterInto(usage, [...acme, ...initech]);
      expected.set(meterEventIdentifier('acme', 'calls', hour), 6 + h);
      expected.set(meterEventIdentifier('acme', 'points', hour), (6 + h) * 2);
      expected.set(meterEventIdentifier('initech', 'points', hour), 15);
    }

    gateways = await Promise.all([start(), start()]);
    const outbox = createRedisMeterOutbox(redis);
    const entries = () => outbox.list(first, first + 4 * HOUR_MS);
    // Both instances close the four hours at start; each event is in the outbox once.
    expect(await eventually(async () => (await entries()).length === expected.size, 10_000)).toBe(true);
    // Stripe is down: the instances try, fail, and back off.
    expect(await eventually(async () => (await entries()).some((e) => e.attempts >= 2), 15_000)).toBe(true);
    expect((await entries()).every((e) => e.status === 'pending')).toBe(true);
    // Both instances are killed during the outage and started again: the outbox is in Redis, nothing was in them.
    for (const g of gateways) g.child.kill('SIGKILL');
    await Promise.all(gateways.map((g) => g.exited));
    gateways = await Promise.all([start(), start()]);

    // Stripe comes back at 10% faults, and one instance is killed once sending has resumed.
    stripe.setFaultRate(0.1);
    const callsBefore = stripe.stats.calls;
    await eventually(async () => stripe.stats.calls > callsBefore, 10_000, 5);
    gateways[1]!.child.kill('SIGKILL');
    await gateways[1]!.exited;
    gateways[1] = await start();

    expect(await eventually(async () => (await entries()).every((e) => e.status === 'sent'), 60_000, 100)).toBe(true);
    const sent = [...stripe.meterEvents.values()];
    expect(new Map(sent.map((e) => [e.identifier, Number(e.payload.value)]))).toEqual(expected);
    for (const e of sent) expect(e.timestamp).toBe(eventTimestamp(hourOf(e.timestamp * 1000)));
    // Timeouts after Stripe applied a call were retried under the same identifier: received twice, counted once.
    expect(sent.some((e) => e.received > 1)).toBe(true);

    // Reconciliation (here run by the test, as any instance runs it) reports to the whole fleet.
    const billing = billingSchema.parse(billingBlock());
    const reconciler = createMeteredBilling({ redis, usage, billingStore, stripe: stripeClientOf(() => billing), billing: () => billing, logger: silent });
    let report = null;
    for (let attempt = 0; attempt < 5 && !report; attempt++) report = await reconciler.reconcile().catch(() => null);
    expect(report).toMatchObject({ checked: expected.size, inFlight: 0, differences: [] });
    for (const g of gateways) {
      const r = await fetch(`${g.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.platformAdmin}` },
        body: JSON.stringify({
          query: '{ fleetUsage { meteredBilling { meters pending lastReconciliation { checked inFlight differenceCount differences { hour } } } } }',
        }),
      });
      expect(((await r.json()) as any).data.fleetUsage.meteredBilling).toEqual({
        meters: ['calls', 'points'],
        pending: 0,
        lastReconciliation: { checked: expected.size, inFlight: 0, differenceCount: 0, differences: [] },
      });
    }
    // Tenants do not see it.
    const tenant = await fetch(`${gateways[0]!.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
      body: JSON.stringify({ query: '{ fleetUsage { meteredBilling { pending } } }' }),
    });
    expect(((await tenant.json()) as any).errors[0].extensions.code).toBe('FORBIDDEN');
  }, 120_000);
});
