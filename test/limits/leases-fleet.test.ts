import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { slidingKeyCount } from '../support/sliding-key.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Four gateway processes on one redis-server, leases on (the defaults: 16 tokens, 1 s lifetime,
 * 25 % kept unreserved, 1 % of a limit per lease), saturated on one tenant whose plan allows 2,000
 * requests per rolling minute: large enough that leases are granted until 1,500 are used.
 * Leases may refuse early while their unused tokens wait; once those are refunded (a lifetime, then
 * carried by the next check of the tenant) and the load goes on, the minute must hold exactly the
 * limit, never more. The whole run fits in the minute, so no admission ages out of the window.
 */
const LIMIT = 2000;
const KEY = 'rl:{acme}:req:m';
const INSTANCES = 4;
const CLIENTS_PER_INSTANCE = 16;
/** Default `limits.leases.lifetimeMs`. */
const LEASE_LIFETIME_MS = 1000;
/** How long the load goes on after the first refusal: past a lifetime and a carry, with room to claim what they freed. */
const AFTER_REFUSAL_MS = 3000;
/** Bounds the load whatever happens: at most this many requests, and this long. */
const MAX_REQUESTS = 40_000;
const MAX_LOAD_MS = 20_000;
const QUERY = JSON.stringify({ query: '{ viewer { clientId } }' });

let redis: TestRedis;
let client: Redis;
const gateways: GatewayProcess[] = [];

interface Answer {
  instance: number;
  status: number;
  /** `shared` or `local`, from `x-ratelimit-decision`. */
  source: string | null;
  /** Store-clock ms of the decision, from `x-ratelimit-decision`. */
  t: number;
}
const answers: Answer[] = [];
let transportErrors = 0;
let firstRefusalAt: number | null = null;
let loadEndedAt = 0;

/** Each client loop sends its next request as soon as the previous one is answered. */
async function clientLoop(instance: number, stopAt: () => number): Promise<void> {
  const url = `${gateways[instance]!.url}/graphql`;
  while (answers.length + transportErrors < MAX_REQUESTS && Date.now() < stopAt()) {
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
        body: QUERY,
      });
      await response.body.arrayBuffer();
      const decision = /^(\w+);t=(\d+)$/.exec(String(response.headers['x-ratelimit-decision'] ?? ''));
      answers.push({ instance, status: response.statusCode, source: decision?.[1] ?? null, t: Number(decision?.[2] ?? 0) });
      if (response.statusCode === 429 && firstRefusalAt === null) firstRefusalAt = Date.now();
    } catch {
      transportErrors += 1;
    }
  }
}

/** `limit_lease_tokens_total{outcome}` of one gateway's /metrics. */
async function leaseTokens(gateway: GatewayProcess): Promise<Record<'granted' | 'used' | 'refunded', number>> {
  const text = await (await request(`${gateway.url}/metrics`)).body.text();
  const read = (outcome: string) => Number(new RegExp(`^limit_lease_tokens_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { granted: read('granted'), used: read('used'), refunded: read('refunded') };
}

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  // One after the other: on two cores, four starting together take longer than four in turn.
  for (let i = 0; i < INSTANCES; i++) {
    gateways.push(
      await startGatewayProcess({
        redisUrl: redis.url,
        patch: (config) => {
          // Only the minute limit: no check-only (bytes) dimension, which would rule leases out.
          config.plans.free.limits = { requestsPerMinute: LIMIT, requestsPerDay: 'unlimited' };
          // A store timeout long enough that this 2-core machine's scheduling never looks like a
          // Redis failure: every decision here is Redis's or a lease's.
          config.limits = { decisionHeader: true, storeTimeoutMs: 1000 };
          config.usage = { enabled: false };
        },
      }),
    );
  }
  const startedAt = Date.now();
  const stopAt = () => Math.min(startedAt + MAX_LOAD_MS, firstRefusalAt === null ? Infinity : firstRefusalAt + AFTER_REFUSAL_MS);
  await Promise.all(Array.from({ length: INSTANCES * CLIENTS_PER_INSTANCE }, (_, i) => clientLoop(i % INSTANCES, stopAt)));
  loadEndedAt = Date.now();
  // Admissions decided after the first refusal (store clock): what early refusals left and was claimed later.
  const firstRefusalT = Math.min(...answers.filter((a) => a.status === 429).map((a) => a.t));
  const late = answers.filter((a) => a.status === 200 && a.t > firstRefusalT).length;
  console.log(
    `leases-fleet: load ran ${loadEndedAt - startedAt} ms, first refusal after ${firstRefusalAt! - startedAt} ms, ${late} admissions decided after it`,
  );
}, 90_000);

afterAll(async () => {
  const exits = await Promise.all(gateways.map((g) => g.close()));
  expect(exits).toEqual(gateways.map(() => ({ code: 0, signal: null })));
  client?.disconnect();
  await redis?.stop();
});

describe('four saturated gateways with leases on one tenant', () => {
  it('answered every request, none with a 5xx, every decision made through Redis', () => {
    expect(transportErrors).toBe(0);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.filter((a) => a.status !== 200 && a.status !== 429)).toEqual([]);
    // Redis was healthy throughout: no local fallback, whose admissions the exact count below does not cover.
    // (A refusal answered at the door from a refusal Redis made moments before says `remembered`.)
    expect(answers.filter((a) => a.source !== 'shared' && !(a.source === 'remembered' && a.status === 429))).toEqual([]);
    // The load was bounded and went on past the first refusal long enough for refunds to be claimed.
    expect(firstRefusalAt).not.toBeNull();
    expect(loadEndedAt - firstRefusalAt!).toBeGreaterThan(LEASE_LIFETIME_MS + SETTLE_CARRY_MS);
    expect(answers.length).toBeLessThan(MAX_REQUESTS);
  });

  it('served requests from leases, without a round trip', async () => {
    const tokens = await Promise.all(gateways.map(leaseTokens));
    console.log(
      `leases-fleet: ${answers.length} requests, ${answers.filter((a) => a.status === 200).length} admitted; lease tokens per gateway ${JSON.stringify(tokens)}`,
    );
    expect(tokens.reduce((sum, t) => sum + t.used, 0)).toBeGreaterThan(0);
    // Every lease has ended by now (none is granted past 75 % of the limit, and the load outlived
    // the last one): each token granted was either used or refunded.
    for (const t of tokens) expect(t.granted).toBe(t.used + t.refunded);
  });

  it('admits exactly the limit across the four: never more, and all of it once unused tokens came back', () => {
    const admitted = answers.filter((a) => a.status === 200).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBe(LIMIT);
  });

  it("leaves Redis's count for the minute equal to what was admitted once the refunds landed", async () => {
    const admitted = answers.filter((a) => a.status === 200).length;
    // Refunds ride on the next check, or go out on their own within a carry period.
    const landed = await eventually(async () => (await slidingKeyCount(client, KEY)).sum === admitted, LEASE_LIFETIME_MS + SETTLE_CARRY_MS + 1000);
    const count = await slidingKeyCount(client, KEY);
    expect(count.sum).toBe(admitted);
    expect(count.t).toBe(count.sum);
    expect(landed).toBe(true);
  });
});
