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
 * Three gateway processes on one redis-server, leases on (the defaults), saturated on one tenant
 * whose plan has a response-byte budget (ALGORITHM.md, "Byte budgets in leases"): leases reserve
 * response bytes with their tokens, so most requests are served without a round trip, and the bytes
 * served may pass the budget only by the bound stated there: at most one response per client
 * connection that Redis had not counted yet when it last admitted (in flight, or its settle waiting
 * to be carried), plus what leased responses exceeded their draw by. Once the load stops, Redis
 * holds exactly the bytes served (every reservation's remainder refunded). The run fits in the hour.
 */
const BUDGET = 500_000;
const BYTES_KEY = 'rl:{acme}:bytes:h';
const INSTANCES = 3;
const CLIENTS_PER_INSTANCE = 8;
const SLOTS = INSTANCES * CLIENTS_PER_INSTANCE;
/** Default `limits.leases.lifetimeMs`. */
const LEASE_LIFETIME_MS = 1000;
/** How long the load goes on after the first refusal: past a lifetime and a carry, so that reservations came back and were claimed. */
const AFTER_REFUSAL_MS = 3000;
/** Bounds the load whatever happens: at most this many requests, and this long. */
const MAX_REQUESTS = 60_000;
const MAX_LOAD_MS = 60_000;
const QUERY = JSON.stringify({ query: '{ viewer { clientId } }' });

let redis: TestRedis;
let client: Redis;
const gateways: GatewayProcess[] = [];

interface Answer {
  status: number;
  /** The body's size: what the gateway counts against the budget. */
  bytes: number;
  /** `shared`, `local` or `remembered`, from `x-ratelimit-decision`. */
  source: string | null;
}
const answers: Answer[] = [];
let transportErrors = 0;
let firstRefusalAt: number | null = null;
let loadEndedAt = 0;

/** Each client loop (one connection's worth) sends its next request as soon as the previous one is answered. */
async function clientLoop(instance: number, stopAt: () => number): Promise<void> {
  const url = `${gateways[instance]!.url}/graphql`;
  while (answers.length + transportErrors < MAX_REQUESTS && Date.now() < stopAt()) {
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
        body: QUERY,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      const decision = /^(\w+);t=\d+$/.exec(String(response.headers['x-ratelimit-decision'] ?? ''));
      answers.push({ status: response.statusCode, bytes: body.length, source: decision?.[1] ?? null });
      if (response.statusCode === 429 && firstRefusalAt === null) firstRefusalAt = Date.now();
    } catch {
      transportErrors += 1;
    }
  }
}

async function leaseTokens(gateway: GatewayProcess): Promise<Record<'granted' | 'used' | 'refunded', number>> {
  const text = await (await request(`${gateway.url}/metrics`)).body.text();
  const read = (outcome: string) => Number(new RegExp(`^limit_lease_tokens_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { granted: read('granted'), used: read('used'), refunded: read('refunded') };
}

const admitted = () => answers.filter((a) => a.status === 200);
const served = () => admitted().reduce((sum, a) => sum + a.bytes, 0);

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  for (let i = 0; i < INSTANCES; i++) {
    gateways.push(
      await startGatewayProcess({
        redisUrl: redis.url,
        patch: (config) => {
          // A minute limit the run never reaches (a counted dimension, which a lease needs) and the byte budget.
          config.plans.free.limits = { requestsPerMinute: 1_000_000, requestsPerDay: 'unlimited', responseBytesPerHour: BUDGET };
          config.limits = { decisionHeader: true, storeTimeoutMs: 1000 };
          config.usage = { enabled: false };
          config.cache = { enabled: false };
        },
      }),
    );
  }
  const startedAt = Date.now();
  const stopAt = () => Math.min(startedAt + MAX_LOAD_MS, firstRefusalAt === null ? Infinity : firstRefusalAt + AFTER_REFUSAL_MS);
  await Promise.all(Array.from({ length: SLOTS }, (_, i) => clientLoop(i % INSTANCES, stopAt)));
  loadEndedAt = Date.now();
  const sizes = admitted().map((a) => a.bytes);
  console.log(
    `byte-leases-fleet: load ran ${loadEndedAt - startedAt} ms, ${answers.length} requests, ${sizes.length} admitted, ` +
      `${served()} bytes served of ${BUDGET} (${served() - BUDGET} over), responses ${Math.min(...sizes)}-${Math.max(...sizes)} bytes`,
  );
}, 150_000);

afterAll(async () => {
  const exits = await Promise.all(gateways.map((g) => g.close()));
  expect(exits).toEqual(gateways.map(() => ({ code: 0, signal: null })));
  client?.disconnect();
  await redis?.stop();
});

describe('three saturated gateways with leases on a tenant with a byte budget', () => {
  it('answered every request, none with a 5xx, every decision made through Redis (or a lease)', () => {
    expect(transportErrors).toBe(0);
    expect(answers.filter((a) => a.status !== 200 && a.status !== 429)).toEqual([]);
    expect(answers.filter((a) => a.source !== 'shared' && !(a.source === 'remembered' && a.status === 429))).toEqual([]);
    expect(firstRefusalAt).not.toBeNull();
    expect(loadEndedAt - firstRefusalAt!).toBeGreaterThan(LEASE_LIFETIME_MS + SETTLE_CARRY_MS);
    expect(answers.length).toBeLessThan(MAX_REQUESTS);
  });

  it('served most requests from leases, and every lease ended with its tokens used or refunded', async () => {
    const tokens = await Promise.all(gateways.map(leaseTokens));
    console.log(`byte-leases-fleet: lease tokens per gateway ${JSON.stringify(tokens)}`);
    const used = tokens.reduce((sum, t) => sum + t.used, 0);
    expect(used).toBeGreaterThan(admitted().length / 2);
    for (const t of tokens) expect(t.granted).toBe(t.used + t.refunded);
  });

  it('served no more bytes than the bound: the budget, plus one uncounted response per connection and what leased ones exceeded their draw by; and all of the budget', () => {
    const sizes = admitted().map((a) => a.bytes);
    const largest = Math.max(...sizes);
    const smallest = Math.min(...sizes);
    // A draw is the largest recent response, so no response exceeds one by more than largest - smallest.
    expect(served()).toBeLessThanOrEqual(BUDGET - 1 + SLOTS * largest + SLOTS * (largest - smallest));
    // Refusals at the end were made on actual bytes (reservations refunded, none granted in the last quarter).
    expect(served()).toBeGreaterThanOrEqual(BUDGET);
  });

  it("leaves Redis's byte count equal to the bytes served once the refunds landed", async () => {
    const landed = await eventually(async () => (await slidingKeyCount(client, BYTES_KEY)).sum === served(), LEASE_LIFETIME_MS + SETTLE_CARRY_MS + 2000);
    const count = await slidingKeyCount(client, BYTES_KEY);
    expect(count.sum).toBe(served());
    expect(count.t).toBe(count.sum);
    expect(landed).toBe(true);
  });
});
