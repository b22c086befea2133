import { ApolloServer } from '@apollo/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { isStoreFailure, storeCall, storeUnavailablePlugin } from '../../src/errors/store-unavailable.js';
import { captureLogger } from '../alerts/capture.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * The answers that need Redis (usage history, fleet usage, runtime limit overrides, the CSV
 * export) while Redis is killed mid-test, and while it hangs (CLIENT PAUSE): a precise
 * STORE_UNAVAILABLE with Retry-After, never INTERNAL_SERVER_ERROR, and no error-level log line.
 */
let redis: TestRedis;
let gateway: TestGateway;
const log = captureLogger();

beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, logger: log.logger });
});
afterAll(async () => {
  await gateway.close();
  await redis.stop();
});

const SUMMARY = '{ usage { summary(granularity: MINUTE) { requests } } }';
const NO_HISTORY = '{ usage { limits { plan { id } } windows { policy } } }';
const FLEET = '{ fleetUsage { tenants(granularity: MINUTE) { tenantId } plans(granularity: MINUTE) { plan } } }';
const SET = 'mutation { setTenantLimits(tenantId: "acme", input: { requestsPerMinute: 50 }) { tenantId } }';
const CLEAR = 'mutation { clearTenantLimits(tenantId: "acme") }';

const csv = () => fetch(`${gateway.url}/usage.csv?granularity=minute`, { headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` } });

function expectStoreUnavailable(response: { status: number; headers: Headers; body: any }, store: string, status = 503) {
  expect(response.status).toBe(status);
  expect(response.headers.get('retry-after')).toBe('5');
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors[0].extensions).toEqual({ code: 'STORE_UNAVAILABLE', store, retryAfterSeconds: 5 });
  expect(response.body.errors[0].message).toMatch(/cannot be reached.*Retry in 5 s\.$/);
}

describe('Redis failures answered as STORE_UNAVAILABLE', () => {
  it('serves everything while Redis is up', async () => {
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, SUMMARY)).status).toBe(200);
    expect((await gateway.gql(DEMO_TOKENS.platformAdmin, FLEET)).status).toBe(200);
    expect((await gateway.gql(DEMO_TOKENS.platformAdmin, SET)).body.data.setTenantLimits.tenantId).toBe('acme');
    expect((await gateway.gql(DEMO_TOKENS.platformAdmin, CLEAR)).body.data.clearTenantLimits).toBe(true);
    expect((await csv()).status).toBe(200);
  });

  it('answers 503 with Retry-After, or serves what it can, while Redis is killed', async () => {
    await redis.kill();

    expectStoreUnavailable(await gateway.gql(DEMO_TOKENS.acmeAdmin, SUMMARY), 'usage');
    // `usage` is non-null all the way down, so a history read that fails takes the whole answer
    // with it (503 above); asked without history, the plan, limits and windows are served (windows from this instance's fallback).
    const noHistory = await gateway.gql(DEMO_TOKENS.acmeAdmin, NO_HISTORY);
    expect(noHistory.status).toBe(200);
    expect(noHistory.body.data.usage.limits.plan.id).toBe('free');
    expect(noHistory.body.data.usage.windows.length).toBeGreaterThan(0);

    expectStoreUnavailable(await gateway.gql(DEMO_TOKENS.platformAdmin, FLEET), 'usage');

    expectStoreUnavailable(await gateway.gql(DEMO_TOKENS.platformAdmin, SET), 'limit-overrides');
    expectStoreUnavailable(await gateway.gql(DEMO_TOKENS.platformAdmin, CLEAR), 'limit-overrides');

    const export_ = await csv();
    expectStoreUnavailable({ status: export_.status, headers: export_.headers, body: await export_.json() }, 'usage');

    // Ordinary queries are still served, on fallback limits.
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);

    await redis.restart();
    expect(await eventually(async () => (await gateway.gql(DEMO_TOKENS.acmeAdmin, SUMMARY)).status === 200, 5000)).toBe(true);
    expect((await gateway.gql(DEMO_TOKENS.platformAdmin, SET)).status).toBe(200);
  });

  it('answers STORE_UNAVAILABLE within the store timeout while Redis hangs (CLIENT PAUSE), not after it', async () => {
    const admin = new Redis(redis.url);
    admin.on('error', () => {});
    try {
      await admin.client('PAUSE', 5000, 'ALL');
      const started = performance.now();
      const [summary, set] = await Promise.all([gateway.gql(DEMO_TOKENS.acmeAdmin, SUMMARY), gateway.gql(DEMO_TOKENS.platformAdmin, SET)]);
      const waited = performance.now() - started;
      expectStoreUnavailable(summary, 'usage');
      expectStoreUnavailable(set, 'limit-overrides');
      expect(waited).toBeGreaterThanOrEqual(2900);
      expect(waited).toBeLessThan(4500); // before the pause ends: the timeout answered
    } finally {
      await admin.client('UNPAUSE');
      admin.disconnect();
    }
  });

  it('logged no unexpected error (level 50) for any of it', () => {
    expect(log.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(log.lines.filter((line) => line.msg === 'unexpected error')).toEqual([]);
  });
});

describe('storeUnavailablePlugin', () => {
  const server = new ApolloServer({
    typeDefs: 'type Query { served: String, stored: String, list: [String] }',
    resolvers: {
      Query: {
        served: () => 'here',
        list: () => [],
        stored: () => storeCall('usage', 'Usage history is unavailable: its store cannot be reached.', Promise.reject(new Error('Connection is closed.'))),
      },
    },
    plugins: [storeUnavailablePlugin()],
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('answers 503 when nothing else was served, 200 beside a served field or list, both with Retry-After', async () => {
    const alone = await server.executeOperation({ query: '{ stored }' });
    expect(alone.http.status).toBe(503);
    expect(alone.http.headers.get('retry-after')).toBe('5');
    for (const query of ['{ served stored }', '{ list stored }']) {
      const beside = await server.executeOperation({ query });
      expect(beside.http.status, query).toBeUndefined();
      expect(beside.http.headers.get('retry-after'), query).toBe('5');
      expect(beside.body.kind === 'single' && beside.body.singleResult.errors?.[0]?.extensions?.code).toBe('STORE_UNAVAILABLE');
    }
  });

  it('leaves a bug a bug: an error that is not a store failure is not turned into STORE_UNAVAILABLE', async () => {
    await expect(storeCall('usage', 'x', Promise.reject(new TypeError('cannot read properties of undefined')))).rejects.toBeInstanceOf(TypeError);
    expect(isStoreFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    expect(isStoreFailure(Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }))).toBe(true);
    expect(isStoreFailure(Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), { name: 'ReplyError' }))).toBe(false);
  });
});
