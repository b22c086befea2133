import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisBillingStore, type BillingStore } from '../../src/billing/billing-store.js';
import { eventTimestamp, HOUR_MS, hourOf, meterEventIdentifier } from '../../src/billing/meter-hours.js';
import { createMeteredBilling, type MeteredBilling } from '../../src/billing/metered-billing.js';
import type { ReconcileReport } from '../../src/billing/meter-reconcile.js';
import { stripeClientOf } from '../../src/billing/stripe-client.js';
import { billingSchema, type BillingConfig } from '../../src/config/billing-schema.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import type { UsageStore } from '../../src/usage/store.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { event, meterInto, silent } from '../usage/helpers.js';

/**
 * Metered billing on a test clock: two instances (each its own Redis connection and Stripe
 * client) close hours, send through the shared outbox, and reconcile against a fake Stripe that
 * fails 10% of calls (500, or a timeout after Stripe applied the call). Hours are closed by
 * moving the clock, never by waiting; the clock stays within Stripe's window of the real time.
 */
let server: TestRedis;
let stripe: FakeStripe;
let redis: Redis[] = [];
let usage: UsageStore;
let billingStore: BillingStore;
let clock = 0;
const now = () => clock;

const billing: BillingConfig = billingSchema.parse({
  secretKey: 'sk_test_metered',
  apiTimeoutMs: 300,
  meters: {
    calls: { eventName: 'api_calls', meterId: 'mtr_calls', measure: 'requests', plans: ['pro'] },
    points: { eventName: 'cost_points', meterId: 'mtr_points', measure: 'costPoints', plans: ['pro', 'enterprise'] },
  },
  metering: { settleSeconds: 120 },
});

function instance(i: number, config: BillingConfig = billing): MeteredBilling {
  const stripeClient = stripeClientOf(() => ({ ...config, apiUrl: stripe.url }));
  return createMeteredBilling({ redis: redis[i]!, usage, billingStore, stripe: stripeClient, billing: () => config, logger: silent, now });
}

/** `count` requests of `tenantId` at `at`, 2.5 cost points each, plus one throttled request (never billed). */
async function traffic(tenantId: string, planId: string, at: number, count: number) {
  const ran = Array.from({ length: count }, (_, i) => event({ tenantId, planId, at: at + i, actualCost: 2.5, requestedCost: 3 }));
  await meterInto(usage, [...ran, event({ tenantId, planId, at, status: 'throttled', throttledBy: 'requests', actualCost: 0 })]);
}

/** Drains the outbox as the instances' loops do, moving the clock past backoffs and leases. */
async function drain(instances: MeteredBilling[]) {
  for (let round = 0; round < 200; round++) {
    const results = await Promise.all(instances.map((b) => b.sendDue()));
    const pending = (await instances[0]!.outbox.list(0, Number.MAX_SAFE_INTEGER)).filter((e) => e.status === 'pending');
    if (pending.length === 0) return;
    if (results.every((r) => r.sent === 0)) clock += 60_000;
  }
  throw new Error('outbox never drained');
}

/**
 * Reconciles once Stripe has had `summaryLagSeconds` to aggregate what was sent, trying again when
 * a Stripe call failed past the client's retries (the loop would, next round).
 */
async function reconciled(b: MeteredBilling, lag = true): Promise<ReconcileReport> {
  if (lag) clock += billing.metering.summaryLagSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await b.reconcile();
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

const eventsOf = (customer: string) => [...stripe.meterEvents.values()].filter((e) => e.payload.stripe_customer_id === customer);

beforeAll(async () => {
  server = await startTestRedis();
  redis = [new Redis(server.url), new Redis(server.url), new Redis(server.url)];
  usage = createRedisUsageStore({ redis: redis[2]! });
  billingStore = createRedisBillingStore({ redis: redis[2]!, pollMs: 1000, logger: silent });
});
afterAll(async () => {
  billingStore?.close();
  for (const r of redis) r.disconnect();
  await stripe?.close();
  await server?.stop();
});
beforeEach(async () => {
  await redis[2]!.flushall();
  // A Stripe of its own per test: events and idempotency keys of one do not answer another's.
  await stripe?.close();
  stripe = await startFakeStripe({ faultRate: 0.1, hangMs: 600, seed: 22, applyBeforeTimeout: true });
  stripe.meters.set('mtr_calls', 'api_calls');
  stripe.meters.set('mtr_points', 'cost_points');
  await billingStore.linkCustomer('cus_acme', 'acme');
  await billingStore.linkCustomer('cus_initech', 'initech');
});

describe('meter events from closed hours', () => {
  it('sends one event per tenant, meter and closed hour across a Stripe outage and an instance dying mid-send', async () => {
    const start = hourOf(Date.now()) - 6 * HOUR_MS;
    clock = start + 10 * 60_000;
    let [a, b] = [instance(0), instance(1)];
    let deadInstanceEntry = '';
    const expected = new Map<string, { value: number; hour: number }>();
    for (let h = 0; h < 5; h++) {
      const hour = start + h * HOUR_MS;
      await traffic('acme', 'pro', hour + 60_000, 10 + h);
      await traffic('initech', 'enterprise', hour + 120_000, 4);
      await traffic('globex', 'pro', hour, 3); // pro, but no Stripe customer: not billed
      await traffic('umbrella', 'free', hour, 7); // on no metered plan
      expected.set(meterEventIdentifier('acme', 'calls', hour), { value: 10 + h, hour });
      expected.set(meterEventIdentifier('acme', 'points', hour), { value: Math.round((10 + h) * 2.5), hour });
      expected.set(meterEventIdentifier('initech', 'points', hour), { value: 10, hour });

      // The hour closes settleSeconds after its end; both instances close it, each event is added once.
      clock = hour + HOUR_MS + 60_000;
      expect((await a.closeHours()).added).toBe(0);
      clock = hour + HOUR_MS + 121_000;
      const added = (await Promise.all([a.closeHours(), b.closeHours()])).reduce((sum, r) => sum + r.added, 0);
      expect(added).toBe(3);

      if (h === 1) stripe.setFaultRate(1); // Stripe down for hours 1 and 2
      if (h === 3) stripe.setFaultRate(0.1);
      if (h === 1 || h === 2) {
        const tries = await Promise.all([a.sendDue(), b.sendDue()]);
        expect(tries.reduce((sum, r) => sum + r.sent, 0)).toBe(0);
        expect(tries.reduce((sum, r) => sum + r.retried, 0)).toBeGreaterThan(0);
        continue;
      }
      if (h === 3) {
        // Instance b leases what is due and sends this hour's first event; Stripe applies it (no
        // fault this once, so the test knows), and b dies before settling anything.
        const leased = (await b.outbox.claim(clock, 100, 30_000)).find((e) => e.attempts === 0)!;
        stripe.setFaultRate(0);
        await stripeClientOf(() => ({ ...billing, apiUrl: stripe.url }))()!.billing.meterEvents.create({
          event_name: leased.eventName,
          identifier: leased.id,
          timestamp: leased.timestamp,
          payload: { stripe_customer_id: leased.customerId, value: String(leased.value) },
        });
        stripe.setFaultRate(0.1);
        deadInstanceEntry = leased.id;
        await b.stop();
        b = instance(1); // its replacement starts with nothing in memory
        clock += 31_000; // the dead instance's lease ends
      }
      await drain([a, b]);
    }

    const sent = [...stripe.meterEvents.values()];
    expect(sent.map((e) => e.identifier).sort()).toEqual([...expected.keys()].sort());
    for (const e of sent) {
      const want = expected.get(e.identifier)!;
      expect({ timestamp: e.timestamp, value: Number(e.payload.value) }).toEqual({ timestamp: eventTimestamp(want.hour), value: want.value });
    }
    expect(eventsOf('cus_acme')).toHaveLength(10);
    // Every entry settled as sent, the dead instance's too: its resend was refused by Stripe as a
    // known identifier, which means delivered.
    const settled = await a.outbox.list(0, Number.MAX_SAFE_INTEGER);
    expect(settled.filter((e) => e.status !== 'sent')).toEqual([]);
    expect(stripe.meterEvents.get(deadInstanceEntry)!.received).toBeGreaterThan(1);
    // Retries and the dead instance's resend reached Stripe more than once; Stripe counted each once.
    expect(sent.some((e) => e.received > 1)).toBe(true);
    expect(stripe.stats.faults).toBeGreaterThan(0);

    const report = await reconciled(a);
    expect(report).toMatchObject({ checked: 15, inFlight: 0, differences: [] });
  }, 120_000);
});

describe('who is billed', () => {
  it('bills a tenant whose subscription was made outside Checkout through the customer of its billing record', async () => {
    const hour = hourOf(Date.now()) - 2 * HOUR_MS;
    clock = hour + HOUR_MS + 121_000;
    await traffic('globex', 'pro', hour, 3);
    await billingStore.update('globex', () => ({
      tenantId: 'globex',
      customerId: 'cus_globex',
      subscriptionId: 'sub_globex',
      paidPlanId: 'pro',
      status: 'active',
      graceUntil: null,
      eventId: 'evt_globex',
      eventAt: 0,
      setAt: 0,
    }));
    expect((await instance(0).closeHours()).added).toBe(2);
    expect((await instance(0).outbox.list(hour, hour)).map((e) => [e.id, e.customerId, e.value])).toEqual([
      [meterEventIdentifier('globex', 'calls', hour), 'cus_globex', 3],
      [meterEventIdentifier('globex', 'points', hour), 'cus_globex', 8],
    ]);
  });
});

describe('reconciliation with Stripe', () => {
  it('sends usage that landed after its hour closed as a correction, then reports zero difference', async () => {
    const hour = hourOf(Date.now()) - 3 * HOUR_MS;
    clock = hour + HOUR_MS + 121_000;
    const a = instance(0);
    await traffic('acme', 'pro', hour + 60_000, 20);
    await a.closeHours();
    await drain([a]);
    expect((await reconciled(a)).differences).toEqual([]);

    // Five more requests of that hour reach the usage history late (an instance's buffered flush).
    await traffic('acme', 'pro', hour + 30 * 60_000, 5);
    const report = await reconciled(a);
    expect(report.differences).toEqual([
      { tenantId: 'acme', meter: 'calls', hour: new Date(hour).toISOString(), metered: 25, recorded: 20, action: 'resent' },
      { tenantId: 'acme', meter: 'points', hour: new Date(hour).toISOString(), metered: 63, recorded: 50, action: 'resent' },
    ]);
    // A second pass before the correction is sent neither compares nor adds it again.
    expect(await reconciled(instance(1))).toMatchObject({ inFlight: 2, differences: [] });
    await drain([a]);
    expect(eventsOf('cus_acme').map((e) => [e.identifier, Number(e.payload.value)])).toEqual([
      [meterEventIdentifier('acme', 'calls', hour), 20],
      [meterEventIdentifier('acme', 'points', hour), 50],
      [meterEventIdentifier('acme', 'calls', hour, 'r20'), 5],
      [meterEventIdentifier('acme', 'points', hour, 'r50'), 13],
    ]);
    expect(await reconciled(a)).toMatchObject({ checked: 2, inFlight: 0, differences: [] });

    // The meter is pointed at another Stripe meter: its past hours are not compared (they would all look unbilled there).
    const moved = billingSchema.parse({ ...billing, meters: { ...billing.meters, calls: { ...billing.meters.calls!, meterId: 'mtr_calls_v2' } } });
    stripe.meters.set('mtr_calls_v2', 'api_calls_v2');
    const events = stripe.meterEvents.size;
    expect(await reconciled(instance(0, moved))).toMatchObject({ checked: 1, unmatched: 1, differences: [] });
    expect((await a.outbox.list(0, Number.MAX_SAFE_INTEGER)).filter((e) => e.status === 'pending')).toEqual([]);
    expect(stripe.meterEvents.size).toBe(events);
  }, 60_000);

  it('waits summaryLagSeconds after sending before it compares: a summary Stripe has not caught up with is not corrected', async () => {
    const hour = hourOf(Date.now()) - 4 * HOUR_MS;
    clock = hour + HOUR_MS + 121_000;
    const a = instance(0);
    await traffic('acme', 'pro', hour, 6);
    await a.closeHours();
    await drain([a]);
    // Stripe has not aggregated the calls event yet.
    const calls = meterEventIdentifier('acme', 'calls', hour);
    const held = stripe.meterEvents.get(calls)!;
    stripe.meterEvents.delete(calls);
    expect(await reconciled(a, false)).toMatchObject({ checked: 0, inFlight: 2, differences: [] });
    expect((await a.outbox.list(0, Number.MAX_SAFE_INTEGER)).map((e) => e.kind)).toEqual(['hour', 'hour']);
    // Now it has: after the lag the hour matches.
    stripe.meterEvents.set(calls, held);
    expect(await reconciled(a)).toMatchObject({ checked: 2, inFlight: 0, differences: [] });
  }, 60_000);

  it('reports usage Stripe holds beyond what was metered, and never cancels it', async () => {
    const hour = hourOf(Date.now()) - 2 * HOUR_MS;
    clock = hour + HOUR_MS + 121_000;
    const a = instance(0);
    await traffic('initech', 'enterprise', hour, 8);
    await a.closeHours();
    await drain([a]);
    // Someone else sent initech usage for that hour under another identifier.
    stripe.meterEvents.set('manual-1', {
      identifier: 'manual-1',
      event_name: 'cost_points',
      timestamp: eventTimestamp(hour) - 10,
      payload: { stripe_customer_id: 'cus_initech', value: '7' },
      received: 1,
    });
    const report = await reconciled(a);
    expect(report.differences).toEqual([
      { tenantId: 'initech', meter: 'points', hour: new Date(hour).toISOString(), metered: 20, recorded: 27, action: 'over-recorded' },
    ]);
    expect(eventsOf('cus_initech')).toHaveLength(2);
  }, 60_000);
});

describe('what the outbox keeps', () => {
  it("forgets sent entries once they leave the reconcile window, keeps unsent ones, and refuses those past Stripe's 35 days", async () => {
    const short = billingSchema.parse({ ...billing, metering: { reconcileDays: 1 } });
    const old = hourOf(Date.now()) - 30 * HOUR_MS;
    const recent = hourOf(Date.now()) - 3 * HOUR_MS;
    clock = recent + HOUR_MS + 121_000;
    const a = instance(0, short);
    await traffic('acme', 'pro', old, 2);
    await traffic('initech', 'enterprise', old, 2);
    await traffic('acme', 'pro', recent, 4);
    await a.closeHours();
    // acme's events go out; initech's old one waits (as if Stripe kept failing it). No faults here.
    stripe.setFaultRate(0);
    const initechOld = meterEventIdentifier('initech', 'points', old);
    await redis[2]!.zadd('meter:{outbox}:due', clock + 3_600_000, initechOld);
    expect(await a.sendDue()).toEqual({ sent: 4, retried: 0, failed: 0 });
    const statuses = async () => Object.fromEntries((await a.outbox.list(0, Number.MAX_SAFE_INTEGER)).map((e) => [e.id, e.status]));
    expect(await statuses()).toEqual({
      [meterEventIdentifier('acme', 'calls', old)]: 'sent',
      [meterEventIdentifier('acme', 'points', old)]: 'sent',
      [initechOld]: 'pending',
      [meterEventIdentifier('acme', 'calls', recent)]: 'sent',
      [meterEventIdentifier('acme', 'points', recent)]: 'sent',
    });

    // Reconciling over one day forgets the old sent entries; the unsent one stays for the sender.
    expect((await reconciled(a)).differences).toEqual([]);
    expect(await statuses()).toEqual({
      [initechOld]: 'pending',
      [meterEventIdentifier('acme', 'calls', recent)]: 'sent',
      [meterEventIdentifier('acme', 'points', recent)]: 'sent',
    });

    // 35 days on, Stripe would refuse its timestamp: the sender settles it as refused, without a call.
    clock += 35 * 24 * HOUR_MS;
    const calls = stripe.stats.calls + stripe.stats.faults;
    expect(await a.sendDue()).toEqual({ sent: 0, retried: 0, failed: 1 });
    expect(stripe.stats.calls + stripe.stats.faults).toBe(calls);
    expect((await a.outbox.list(old, old)).map((e) => [e.status, e.lastError])).toEqual([['failed', 'older than Stripe accepts (35 days)']]);
  }, 60_000);
});
