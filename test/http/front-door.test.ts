import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { flushKeepingEpoch, startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Refusals from memory at the front door (src/http/front-door.ts): answered before Fastify takes
 * the request, with the same answer the route's hook gives, and everything the door may not
 * answer handed on untouched (a browser, a usage query, a body that does not parse).
 */
let redis: TestRedis;
let client: Redis;
let gateway: TestGateway;
const VIEWER = '{ viewer { clientId } }';
const SUMMARY = '{ usage { summary(granularity: MINUTE) { requests throttled } } }';

/** acme (Free): 3 requests a minute, no burst zone, refusals remembered for their whole Retry-After. */
function patchWith(version: number) {
  return (config: Record<string, any>) => {
    config.plans.free.limits = { ...config.plans.free.limits, requestsPerMinute: 3 };
    delete config.plans.free.limits.burst;
    config.limits = { ...config.limits, localRefusalMaxMs: 60_000, localRefusalDelayMs: 0, decisionHeader: true };
    // A setting that applies live, changed on every rewrite, so that each one is a reload.
    config.cors = { ...config.cors, preflightMaxAgeSeconds: 600 + version };
    config.usage = { ...config.usage, flushIntervalMs: 50 };
  };
}

let version = 0;
beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, configPollIntervalMs: 50, patch: patchWith(version) });
});
afterAll(async () => {
  await gateway.close();
  client.disconnect();
  await redis.stop();
});

/**
 * Each test starts from an empty minute and no refusal remembered: a changed config makes the
 * gateway forget its refusals (a reload may change limits), seen once acme is served again.
 */
async function freshMinute() {
  await gateway.writeConfig(patchWith(++version));
  await flushKeepingEpoch(client);
  for (let i = 0; i < 100 && (await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await flushKeepingEpoch(client);
}
beforeEach(() => freshMinute());

async function localRefusals(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^limit_local_refusals_total\{door="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Uses up acme's minute and returns the store's own refusal (the fourth request). */
async function refusedByStore() {
  for (let i = 0; i < 3; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).status).toBe(200);
  const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER);
  expect(refused.status).toBe(429);
  expect(refused.headers.get('x-ratelimit-decision')).toMatch(/^shared;/);
  return refused;
}

describe('the front door', () => {
  it('answers a refused key from memory with the store refusal, before the route, and meters it as throttled', async () => {
    const store = await refusedByStore();
    const before = await localRefusals();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER, undefined, { 'x-request-id': `flood-${i}` }));
    const after = await localRefusals();
    expect((after.front ?? 0) - (before.front ?? 0)).toBe(5);
    expect((after.route ?? 0) - (before.route ?? 0)).toBe(0);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(429);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.headers.get('x-ratelimit-decision')).toMatch(/^remembered;t=\d+$/);
      expect(answer.headers.get('x-request-id')).toBe(`flood-${i}`);
      expect(answer.headers.get('ratelimit-policy')).toBe(store.headers.get('ratelimit-policy'));
      expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(Number(store.headers.get('retry-after')));
      expect(answer.body.errors![0]!.extensions).toEqual({
        ...store.body.errors![0]!.extensions,
        retryAfterSeconds: Number(answer.headers.get('retry-after')),
        resetAt: expect.any(String),
      });
    }
    // A length, not a chunked body, as the route's answers have.
    const raw = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(Number(raw.headers.get('content-length'))).toBe(Buffer.byteLength(await raw.text()));
    // Metered as throttled requests, like the store's refusal (summed once the meter has flushed).
    const throttled = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const usage = await gateway.gql(DEMO_TOKENS.acmeAdmin, SUMMARY);
      expect(usage.status).toBe(200);
      return usage.body.data.usage.summary.throttled as number;
    };
    const throttledBefore = await throttled();
    for (let i = 0; i < 4; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).headers.get('x-ratelimit-decision')).toMatch(/^remembered/);
    expect((await throttled()) - throttledBefore).toBe(4);
  });

  it('hands on a usage query (its body read at the door) and a body that does not parse, which the route answers', async () => {
    await refusedByStore();
    const before = await localRefusals();
    const usage = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ rateLimit { limit remaining } }');
    expect(usage.status).toBe(200);
    // Served: the Free plan's cost points per minute, with what this minute's requests used.
    expect(usage.body.data.rateLimit.limit).toBe(1000);
    const post = (body: string) =>
      fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}`, 'content-type': 'application/json' },
        body,
      });
    // Not JSON: Fastify's parser refuses it, and the refused request is counted: 429 from the store.
    const broken = await post('{"query": ');
    expect(broken.status).toBe(429);
    expect(broken.headers.get('x-ratelimit-decision') ?? 'counted').not.toMatch(/^remembered/);
    // A body with __proto__ is Fastify's to refuse (400, counted), never parsed at the door.
    const poisoned = await post(`{"query": "${VIEWER}", "__proto__": {"x": 1}}`);
    expect(poisoned.status).toBe(429);
    expect(poisoned.headers.get('x-ratelimit-decision') ?? 'counted').not.toMatch(/^remembered/);
    const after = await localRefusals();
    expect((after.front ?? 0) - (before.front ?? 0)).toBe(0);
  });

  it('leaves browsers to the route: CORS headers on the refusal, answered by the hook', async () => {
    // acme's publishable key, from the page origin it allows: refused with the tenant's minute.
    await refusedByStore();
    const before = await localRefusals();
    const page = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKENS.acmePublishable}`, 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: JSON.stringify({ query: VIEWER }),
    });
    expect(page.status).toBe(429);
    expect(page.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(page.headers.get('x-ratelimit-decision')).toMatch(/^remembered/);
    const after = await localRefusals();
    expect((after.route ?? 0) - (before.route ?? 0)).toBe(1);
    expect((after.front ?? 0) - (before.front ?? 0)).toBe(0);
  });

  it('answers a preflighted GET from memory; a GET the transport refuses goes on to it', async () => {
    await refusedByStore();
    const get = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/graphql?query=${encodeURIComponent(VIEWER)}`, { headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}`, ...headers } });
    const before = await localRefusals();
    const preflighted = await get({ 'apollo-require-preflight': 'true' });
    expect(preflighted.status).toBe(429);
    expect(preflighted.headers.get('x-ratelimit-decision')).toMatch(/^remembered/);
    const bare = await get({});
    expect(bare.status).toBe(429);
    expect(((await bare.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(bare.headers.get('x-ratelimit-decision') ?? 'counted').not.toMatch(/^remembered/);
    const after = await localRefusals();
    expect((after.front ?? 0) - (before.front ?? 0)).toBe(1);
  });
});
