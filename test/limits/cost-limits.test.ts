import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { flushKeepingEpoch, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

let redis: TestRedis;
let client: Redis;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      config.limits = { storeTimeoutMs: 1000 };
      // globex (pro): a small cost budget to see charges, refunds and refusals.
      config.plans.pro.limits = { requestsPerMinute: 1000, costPerMinute: 100, maxOperationCost: 80 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  client.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await flushKeepingEpoch(client);
  gateway.sampleServices.resetAll();
});

function noDownstreamCalls(): boolean {
  return Object.values(gateway.sampleServices.services).every((s) => Object.keys(s.counters()).length === 0);
}

// Field cost counts resolver calls: orders 1 + nodes 1 + items 50 (one per order) + product 250
// (5 assumed lines per order) + inventory 250 x weight 2 = 802, far above the maximum of 80.
const EXPENSIVE = '{ orders(first: 50) { nodes { items { product { inventory { available } } } } } }';

describe('cost limits', () => {
  it("refuses an operation above the plan's maximum with 400 before any downstream call, consuming nothing", async () => {
    const dry = await gateway.gql(DEMO_TOKENS.globexAdmin, EXPENSIVE, undefined, { 'x-cost-dry-run': '1' });
    const estimate = dry.body.extensions?.cost?.requested;
    expect(estimate).toBe(802);

    const refused = await gateway.gql(DEMO_TOKENS.globexAdmin, EXPENSIVE);
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]).toMatchObject({
      message: `This operation is estimated to cost ${estimate} points; the Pro plan allows at most 80 per operation. Ask for fewer items (smaller \`first\`) or fewer fields.`,
      extensions: { code: 'COST_LIMIT_EXCEEDED', estimate, maximum: 80, plan: 'pro' },
    });
    expect(noDownstreamCalls()).toBe(true);
    // Nothing consumed: the request count and cost budget are where the dry run left them.
    const next = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    // (The dry run counted as a request; the refused one did not.)
    expect(next.headers.get('x-ratelimit-remaining')).toBe('998');
    // The only cost charged is this request's own: viewer, 1 point.
    expect(next.body.extensions!.cost.limit.remaining).toBe(99);
  });

  it('reports a refused estimate in /metrics as kind="refused", not as requested cost (it consumed nothing)', async () => {
    const sums = async () => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const sum = (kind: string) => Number(new RegExp(`^graphql_operation_cost_sum\\{kind="${kind}",plan="pro"\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
      return { requested: sum('requested'), refused: sum('refused') };
    };
    const before = await sums();
    const refused = await gateway.gql(DEMO_TOKENS.globexAdmin, EXPENSIVE);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', estimate: 802 });
    await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    // Metered once the response is out: wait for both requests to be counted.
    let after = before;
    await eventually(async () => {
      after = await sums();
      return after.requested - before.requested >= 1;
    });
    expect({ refused: after.refused - before.refused, requested: after.requested - before.requested }).toEqual({ refused: 802, requested: 1 });
  });

  it('charges the estimate, reports the budget in extensions.cost, and refunds what was not used', async () => {
    // products 1 + search argument 2 + inventory 30 x 2 = 63 estimated; no product matches, so
    // only products and its argument actually cost anything: 3.
    const query = '{ products(search: "no such product", first: 30) { id inventory { available } } }';
    const first = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(first.status).toBe(200);
    expect(first.body.data.products).toEqual([]);
    const cost = first.body.extensions!.cost;
    expect(cost).toMatchObject({ requested: 63, actual: 3 });
    expect(cost.limit).toMatchObject({ limit: 100, remaining: 37, window: '1 minute' });
    expect(Date.parse(cost.limit.resetAt)).toBeGreaterThan(Date.now() - 1000);

    // The 60 unused points come back after the response: 100 - 3 used - 1 for each viewer query.
    let viewerQueries = 0;
    const refunded = await eventually(async () => {
      viewerQueries++;
      const r = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
      return r.body.extensions!.cost.limit.remaining === 100 - 3 - viewerQueries;
    });
    expect(refunded).toBe(true);
  });

  it('refuses on the cost budget without consuming the request count', async () => {
    // customers 1 + nodes 1 + orders 20 = 22 points each: the fifth exceeds 100.
    const query = '{ customers(first: 20) { nodes { orders(first: 1) { id } } } }';
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
      statuses.push(r.status);
      remaining.push(r.headers.get('x-ratelimit-remaining')!);
    }
    const firstRefusal = statuses.indexOf(429);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', dimension: 'cost', policy: 'cost-minute', limit: 100 });
    // Refused requests left the per-minute request count alone: it stayed where the last admitted one put it.
    expect(new Set(remaining.slice(firstRefusal)).size).toBe(1);
    expect(remaining[firstRefusal]).toBe(remaining[firstRefusal - 1]);
  });

  it('prices a dry run without executing it or charging cost points', async () => {
    const dry = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ customers(first: 10) { nodes { id } } }', undefined, { 'x-cost-dry-run': '1' });
    expect(dry.status).toBe(200);
    expect(dry.body.data ?? null).toBeNull();
    expect(dry.body.extensions!.cost.requested).toBeGreaterThan(0);
    expect(dry.body.extensions!.cost.limit.remaining).toBe(100);
    expect(noDownstreamCalls()).toBe(true);
  });
});
