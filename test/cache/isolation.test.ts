import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { dataText, disableCache, errorCodes } from './support.js';

/**
 * These tests count cache hits and downstream calls exactly: generous store timeouts keep a slow
 * answer on a loaded machine from turning a hit into a miss (resilience.test.ts covers the short
 * production timeouts).
 */
const generousTimeouts = (config: Record<string, any>) => {
  config.cache = { timeoutMs: 1000 };
  config.limits = { storeTimeoutMs: 1000 };
};

/**
 * Tenant, role and key isolation of the field cache, against a real Redis shared by nothing else:
 * whatever was warmed first and however a query is written, every answer equals what a gateway
 * without a cache gives the same caller (`reference`), and the other party's data never shows.
 */
let redisServer: TestRedis;
let inspect: Redis;
let cached: TestGateway;
let reference: TestGateway;

beforeAll(async () => {
  redisServer = await startTestRedis();
  inspect = new Redis(redisServer.url);
  [cached, reference] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redisServer.url }, patch: generousTimeouts, configPollIntervalMs: 100 }),
    startTestGateway({ patch: disableCache }),
  ]);
});
afterAll(async () => {
  await Promise.all([cached?.close(), reference?.close()]);
  await inspect.quit();
  await redisServer.stop();
});
beforeEach(async () => {
  await inspect.flushall();
  await cached.writeConfig(() => {});
  cached.sampleServices.resetAll();
  reference.sampleServices.resetAll();
});

/** Catalog, people and their orders: no field that drifts with time (stock `available` does). */
const EVERYTHING = `{
  product(id: "prd_1") { id name price { amountCents } inventory { warehouse reserved } }
  products(first: 5) { id name }
  customer(id: "cus_3") { id name email lifetimeValue { amountCents } orders(first: 3) { id total { amountCents } } }
  dashboard { customerCount recentOrders(first: 3) { id } recentRevenue { amountCents } }
}`;
const PEOPLE = '{ customer(id: "cus_3") { id name email lifetimeValue { amountCents } orders(first: 3) { id } } }';

/** The answer must be the caller's own: the reference gateway's answer to the same token and query. */
async function expectOwnAnswer(response: GqlResponse, token: string, query: string, variables?: Record<string, unknown>) {
  const truth = await reference.gql(token, query, variables);
  expect(response.status).toBe(200);
  expect(dataText(response.body)).toBe(dataText(truth.body));
  expect(errorCodes(response.body)).toEqual(errorCodes(truth.body));
}

const statuses = (response: GqlResponse): string[] => Object.values(response.body.extensions?.cache?.fields ?? {});

describe('field cache isolation', () => {
  it.each([
    ['acme first', DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.globexAdmin],
    ['globex first', DEMO_TOKENS.globexAdmin, DEMO_TOKENS.acmeAdmin],
  ])('two tenants, same role and arguments (%s): each gets its own data', async (_name, first, second) => {
    const warm = await cached.gql(first, EVERYTHING);
    await expectOwnAnswer(warm, first, EVERYTHING);
    const other = await cached.gql(second, EVERYTHING);
    await expectOwnAnswer(other, second, EVERYTHING);
    // Nothing the first tenant warmed was a hit for the second.
    expect(statuses(other)).not.toContain('HIT');
    expect(dataText(other.body)).not.toBe(dataText(warm.body));
    for (const token of [first, second]) {
      const again = await cached.gql(token, EVERYTHING);
      await expectOwnAnswer(again, token, EVERYTHING);
      expect(new Set(statuses(again))).toEqual(new Set(['HIT']));
    }
  });

  it.each([
    ['admin first', DEMO_TOKENS.globexAdmin, DEMO_TOKENS.globexViewer],
    ['viewer first', DEMO_TOKENS.globexViewer, DEMO_TOKENS.globexAdmin],
  ])('one tenant, two roles (%s): restricted fields follow the caller, not the warmer', async (_name, first, second) => {
    await expectOwnAnswer(await cached.gql(first, PEOPLE), first, PEOPLE);
    const then = await cached.gql(second, PEOPLE);
    await expectOwnAnswer(then, second, PEOPLE);
    // The tenant's customer entry is shared (TENANT scope); what the role may see is decided per request.
    expect(then.body.extensions?.cache?.fields.customer).toBe('HIT');
    await expectOwnAnswer(await cached.gql(first, PEOPLE), first, PEOPLE);
  });

  it('a role-restricted field warmed by an admin is refused to a viewer', async () => {
    const admin = await cached.gql(DEMO_TOKENS.globexAdmin, PEOPLE);
    expect(admin.body.data.customer.email).toMatch(/@/);
    const viewer = await cached.gql(DEMO_TOKENS.globexViewer, PEOPLE);
    expect(viewer.body.data.customer).toMatchObject({ id: 'cus_3', email: null, lifetimeValue: null });
    expect(errorCodes(viewer.body)).toEqual(['customer.email:FORBIDDEN', 'customer.lifetimeValue:FORBIDDEN']);
    expect(JSON.stringify(viewer.body)).not.toContain(admin.body.data.customer.email);
  });

  it('aliases, fragments and variables reach no other scope', async () => {
    await cached.gql(DEMO_TOKENS.globexAdmin, PEOPLE);
    await cached.gql(DEMO_TOKENS.globexAdmin, EVERYTHING);
    const sneaky = `query ($id: ID!, $p: ID!) {
      a: customer(id: $id) { ...Person }
      b: customer(id: "cus_3") { mail: email, ltv: lifetimeValue { amountCents } }
      x: product(id: $p) { ...Item }
      y: products(first: 5) { ...Item }
    }
    fragment Person on Customer { id e: email orders(first: 3) { id } }
    fragment Item on Product { id name inventory { warehouse } }`;
    const variables = { id: 'cus_3', p: 'prd_1' };
    for (const token of [DEMO_TOKENS.globexViewer, DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.initechAdmin, DEMO_TOKENS.service]) {
      await expectOwnAnswer(await cached.gql(token, sneaky, variables), token, sneaky, variables);
    }
    const viewer = await cached.gql(DEMO_TOKENS.globexViewer, sneaky, variables);
    expect(viewer.body.data.a.e).toBeNull();
    expect(viewer.body.data.b).toMatchObject({ mail: null, ltv: null });
  });

  it('a spoofed tenant header changes nothing: the tenant comes from the key', async () => {
    await cached.gql(DEMO_TOKENS.acmeAdmin, EVERYTHING);
    const spoofed = await cached.gql(DEMO_TOKENS.globexAdmin, EVERYTHING, undefined, { 'x-tenant-id': 'acme' });
    await expectOwnAnswer(spoofed, DEMO_TOKENS.globexAdmin, EVERYTHING);
    expect(statuses(spoofed)).not.toContain('HIT');

    await inspect.flushall();
    await cached.gql(DEMO_TOKENS.globexAdmin, EVERYTHING, undefined, { 'x-tenant-id': 'acme', 'x-role': 'admin' });
    const written = await inspect.keys('cache:*');
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((key) => !key.includes('{globex}'))).toEqual([]);
  });

  it('a role change after warm-up applies at once, in both directions', async () => {
    const roleOf = async () => (await cached.gql(DEMO_TOKENS.globexViewer, '{ viewer { role } }')).body.data.viewer.role;
    const setViewerRole = async (role: string) => {
      await cached.writeConfig((config) => {
        config.apiKeys.find((key: { id: string }) => key.id === 'globex-viewer').role = role;
      });
      await expect.poll(roleOf, { timeout: 5000, interval: 50 }).toBe(role.toUpperCase());
    };

    const asViewer = await cached.gql(DEMO_TOKENS.globexViewer, PEOPLE);
    expect(asViewer.body.data.customer.email).toBeNull();

    await setViewerRole('admin');
    const promoted = await cached.gql(DEMO_TOKENS.globexViewer, PEOPLE);
    await expectOwnAnswer(promoted, DEMO_TOKENS.globexAdmin, PEOPLE);
    expect(promoted.body.data.customer.email).toMatch(/@/);

    await setViewerRole('viewer');
    const demoted = await cached.gql(DEMO_TOKENS.globexViewer, PEOPLE);
    await expectOwnAnswer(demoted, DEMO_TOKENS.globexViewer, PEOPLE);
    expect(demoted.body.data.customer.email).toBeNull();
    expect(errorCodes(demoted.body)).toEqual(['customer.email:FORBIDDEN', 'customer.lifetimeValue:FORBIDDEN']);
  });
});
