import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingPlan } from '../../src/billing/billing-plan.js';
import { createRedisBillingStore, type BillingStore } from '../../src/billing/billing-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis, type RedisClient } from '../../src/stores/redis.js';
import { useTestRedis } from '../support/redis-server.js';

/**
 * The Redis billing store on a real redis-server: updates of one tenant from two "instances" at
 * once never lose one another (compare-and-set, retried), the event ledger lets one delivery of
 * an id through, and a fresh store reads what another wrote (a restart).
 */
const redis = useTestRedis();
const logger = createLogger({ level: 'silent' });
const clients: RedisClient[] = [];
const stores: BillingStore[] = [];

async function store(): Promise<BillingStore> {
  const client = createRedis({ url: redis.server.url }, logger);
  clients.push(client);
  // The gateway's connections queue nothing while connecting: wait until this one is up.
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  const made = createRedisBillingStore({ redis: client, pollMs: 50, logger });
  stores.push(made);
  return made;
}

const plan = (eventAt: number, count: number): BillingPlan => ({
  tenantId: 'acme',
  customerId: 'cus_1',
  subscriptionId: 'sub_1',
  paidPlanId: 'pro',
  status: 'active',
  graceUntil: null,
  // `eventAt` carries a counter here: each update must see the one before it.
  eventAt: eventAt + count,
  eventId: `evt_${count}`,
  setAt: 0,
});

let a: BillingStore;
let b: BillingStore;
beforeAll(async () => {
  a = await store();
  b = await store();
});
afterAll(async () => {
  for (const s of stores) s.close();
  await Promise.all(clients.map((c) => c.quit()));
});

describe('Redis billing store', () => {
  it('never loses an update when two instances change one tenant at once', async () => {
    const bump = (s: BillingStore) => s.update('acme', (current) => plan(0, (current ? current.eventAt : 0) + 1));
    // Ten at once, five per instance: far more contention than Stripe's events of one tenant make.
    await Promise.all(Array.from({ length: 10 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    await a.refresh();
    expect(a.get('acme')!.eventAt).toBe(10);
  });

  it('lets one delivery of an event id through, and frees it when applying failed', async () => {
    expect(await Promise.all([a.claimEvent('evt_x'), b.claimEvent('evt_x')])).toEqual(expect.arrayContaining(['new', 'busy']));
    await a.settleEvent('evt_x', 'failed');
    expect(await b.claimEvent('evt_x')).toBe('new');
    await b.settleEvent('evt_x', 'done');
    expect(await a.claimEvent('evt_x')).toBe('done');
  });

  it('hands a new instance what others wrote, within its poll', async () => {
    await a.linkCustomer('cus_1', 'acme');
    const fresh = await store();
    await new Promise((r) => setTimeout(r, 100));
    expect(fresh.get('acme')).toMatchObject({ subscriptionId: 'sub_1', paidPlanId: 'pro' });
    expect(await fresh.tenantOfCustomer('cus_1')).toBe('acme');
    expect(await fresh.customerOfTenant('acme')).toBe('cus_1');
  });
});
