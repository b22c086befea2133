import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { verifySignature } from '../../src/alerts/verify.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

let redis: TestRedis;
let reader: Redis;
let gateway: TestGateway;
let hook: Server;
const received: { body: string; signature: string }[] = [];
const SECRET = 'a-webhook-secret-for-tests';

beforeAll(async () => {
  redis = await startTestRedis();
  reader = new Redis(redis.url);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ body, signature: String(req.headers['x-gateway-signature']) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      config.limits = { storeTimeoutMs: 1000 };
      // acme (free): 10 requests a day, to see the 80% and 100% alerts and throttling.
      config.plans.free.limits = { requestsPerDay: 10 };
      config.alerts = { webhookUrl: hookUrl, webhookSecret: SECRET };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await new Promise((r) => hook.close(r));
  reader.disconnect();
  await redis.stop();
});

/** Requests metered for a tenant in the last few minutes, read from Redis directly (not metered itself). */
async function metered(tenantId: string, client?: string): Promise<number> {
  const store = createRedisUsageStore({ redis: reader });
  const range = { tenantId, granularity: 'minute' as const, from: Date.now() - 180_000, to: Date.now() };
  const points = await store.history(client ? { ...range, client } : range);
  return points.reduce((sum, p) => sum + p.requests, 0);
}

const USAGE = `{ usage {
  tenant { id plan { id } }
  limits { requestsPerDay requestsPerMinute }
  windows { policy dimension limit used remaining resetAt }
  summary(granularity: MINUTE) { requests ok errors throttled throttledPercent throttledBy { reason count } latencyP50Ms cacheHits cacheMisses }
  byClient(granularity: MINUTE) { key totals { requests } }
  byRootField(granularity: MINUTE) { key totals { requests } }
} }`;

describe('usage metering through the gateway', () => {
  it('meters every request, throttled ones included, answers usage while throttled, and alerts once at 80% and 100%', async () => {
    // A validation error, metered as an error and counted against the quota like any request
    // (sent once the quota is spent, it would be answered 429: every request of a key counts).
    const statuses: number[] = [(await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ nope }')).status];
    for (let i = 0; i < 12; i++) statuses.push((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }')).status);
    expect(statuses[0]).toBe(400);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);

    // Every request sent is metered, the throttled and failed ones too (flushed within a second).
    expect(await eventually(async () => (await metered('acme')) === 13)).toBe(true);

    // Throttled, and still answered: usage is free. (It is metered too, after its own response.)
    const r = await gateway.gql(DEMO_TOKENS.acmeAdmin, USAGE);
    expect(r.status).toBe(200);
    const usage = r.body.data.usage;
    expect(usage.tenant).toEqual({ id: 'acme', plan: { id: 'free' } });
    expect(usage.limits).toEqual({ requestsPerDay: 10, requestsPerMinute: null });
    expect(usage.windows).toEqual([expect.objectContaining({ policy: 'day', dimension: 'quota', limit: 10, used: 10, remaining: 0 })]);
    expect(usage.summary).toMatchObject({ requests: 13, ok: 9, errors: 1, throttled: 3, throttledBy: [{ reason: 'quota', count: 3 }] });
    // The nine admitted product queries: the first missed the field cache, the other eight hit it.
    expect(usage.summary).toMatchObject({ cacheHits: 8, cacheMisses: 1 });
    expect(usage.summary.throttledPercent).toBeCloseTo((3 / 13) * 100, 1);
    expect(usage.byClient).toEqual([{ key: 'acme-admin', totals: { requests: 13 } }]);
    expect(usage.byRootField).toEqual(expect.arrayContaining([{ key: 'Query.product', totals: { requests: 12 } }]));

    expect(await eventually(() => received.length >= 2)).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // a third event would have arrived by now
    const events = received.map((r) => JSON.parse(r.body));
    expect(events.map((e) => [e.kind, e.tenantId, e.policy, e.threshold])).toEqual([
      ['limit_threshold', 'acme', 'day', 80],
      ['limit_threshold', 'acme', 'day', 100],
    ]);
    for (const r of received) expect(verifySignature(r.body, r.signature, SECRET)).toBe(true);
  });

  it("never shows one tenant another tenant's usage, and keeps fleet views for platform admins", async () => {
    await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    await gateway.gql(DEMO_TOKENS.globexViewer, '{ viewer { clientId } }');
    expect(await eventually(async () => (await metered('globex')) === 2)).toBe(true);
    const globex = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ usage { byClient(granularity: MINUTE) { key } } }');
    expect(globex.body.data.usage.byClient.map((c: any) => c.key).sort()).toEqual(['globex-admin', 'globex-viewer']);

    const denied = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ fleetUsage { tenants { tenantId } } }');
    expect(denied.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');

    const fleet = await gateway.gql(
      DEMO_TOKENS.platformAdmin,
      '{ fleetUsage { tenants(granularity: MINUTE) { tenantId plan totals { requests throttled } } plans(granularity: MINUTE) { plan totals { throttledPercent } } } }',
    );
    expect(fleet.body.errors).toBeUndefined();
    const tenants = fleet.body.data.fleetUsage.tenants;
    expect(tenants[0]).toMatchObject({ tenantId: 'acme', plan: 'free', totals: { throttled: 3 } });
    expect(tenants.map((t: any) => t.tenantId)).toContain('globex');
    const free = fleet.body.data.fleetUsage.plans.find((p: any) => p.plan === 'free');
    expect(free.totals.throttledPercent).toBeGreaterThan(0);
  });

  it('exports the same history as CSV with the same key', async () => {
    const response = await fetch(`${gateway.url}/usage.csv?granularity=minute`, { headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const lines = (await response.text()).trim().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header).toContain('requests');
    const requests = header.indexOf('requests');
    const total = lines.slice(1).reduce((sum, line) => sum + Number(line.split(',')[requests]), 0);
    // The 13 requests of the first test and its usage query.
    expect(total).toBe(await metered('acme'));
    expect(total).toBe(14);
    const bad = await fetch(`${gateway.url}/usage.csv?granularity=week`, { headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await fetch(`${gateway.url}/usage.csv`)).status).toBe(401);
  });

  it('prices an operation with rateLimit(dryRun: true) without running or charging it', async () => {
    const query = '{ rateLimit(dryRun: true) { limit cost remaining used } customers(first: 5) { nodes { orders(first: 1) { id } } } }';
    const r = await gateway.gql(DEMO_TOKENS.initechAdmin, query);
    expect(r.status).toBe(200);
    expect(r.body.data.customers).toBeUndefined();
    // rateLimit 1 + customers 1 + nodes 1 + orders 5.
    expect(r.body.data.rateLimit).toMatchObject({ cost: 8, limit: 500000 });
    expect(r.body.data.rateLimit.remaining).toBe(r.body.data.rateLimit.limit - r.body.data.rateLimit.used);
    expect(gateway.sampleServices.services.accounts.counters()['GET /customers'] ?? 0).toBe(0);
  });

  it('answers rateLimit on its own, free, from the live cost window', async () => {
    await gateway.gql(DEMO_TOKENS.initechAdmin, '{ customers(first: 3) { nodes { orders(first: 1) { id } } } }'); // 1 + 1 + 3 = 5 points
    const r = await gateway.gql(DEMO_TOKENS.initechAdmin, '{ rateLimit { limit cost remaining used resetAt } }');
    expect(r.body.data.rateLimit).toMatchObject({ limit: 500000, cost: 1, used: 5, remaining: 499995 });
    expect(Date.parse(r.body.data.rateLimit.resetAt)).toBeGreaterThan(Date.now() - 1000);
  });

  it('exposes Prometheus metrics with the named series', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const series of [
      'graphql_requests_total',
      'graphql_throttled_total',
      'graphql_request_duration_seconds_bucket',
      'limit_check_duration_seconds_bucket',
      'graphql_operation_cost_bucket',
      'downstream_breaker_state',
      'usage_buffered_events',
    ]) {
      expect(text).toContain(series);
    }
    expect(text).toMatch(/graphql_throttled_total\{plan="free",dimension="quota",tenant="[^"]*"\} 3/);
    // The nine product queries admitted above called the catalog service once: the rest came from the cache.
    expect(text).toMatch(/downstream_request_duration_seconds_count\{service="catalog",outcome="ok"\} 1\n/);
    expect(text).toMatch(/cache_requests_total\{field="Query.product",result="hit"\} 8\n/);
  });

  it('flushes buffered usage on shutdown: a clean stop loses nothing', async () => {
    // What the first gateway metered for initech-admin so far (the tests above), once flushed.
    let before = -1;
    expect(
      await eventually(
        async () => {
          const now = await metered('initech', 'initech-admin');
          const settled = now === before && now > 0;
          before = now;
          return settled;
        },
        5000,
        1200,
      ),
    ).toBe(true);
    const second = await startTestGateway({ env: { REDIS_URL: redis.url }, patch: (config) => (config.limits = { storeTimeoutMs: 1000 }) });
    for (let i = 0; i < 7; i++) await second.gql(DEMO_TOKENS.initechAdmin, '{ viewer { clientId } }');
    await second.close();
    // Read at once, no waiting: close() flushed the seven before it returned.
    expect(await metered('initech', 'initech-admin')).toBe(before + 7);
  });
});
