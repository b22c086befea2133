import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { type Downstream, createDownstream } from '../../src/downstream/downstream.js';
import { DownstreamError } from '../../src/errors/gateway-error.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSampleServices } from '../../src/sample-services/start.js';
import { createRedis } from '../../src/stores/redis.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * A service's `rateLimit` kept across two gateway instances: two downstreams, each with its own
 * limiter and Redis connection, on one real redis-server, calling the real sample service.
 */

const logger = createLogger({ level: 'silent' });
let server: TestRedis;
let sample: Awaited<ReturnType<typeof startSampleServices>>;
const connections: Redis[] = [];
const limiters: Limiter[] = [];
const downstreams: Downstream[] = [];

beforeAll(async () => {
  [server, sample] = await Promise.all([startTestRedis(), startSampleServices()]);
});
afterAll(async () => {
  await Promise.all(downstreams.map((d) => d.close()));
  for (const limiter of limiters) await limiter.close();
  for (const redis of connections) redis.disconnect();
  await Promise.all([server.stop(), sample.close()]);
});
beforeEach(async () => {
  sample.resetAll();
  await connections[0]?.flushall();
});

/** One gateway instance's downstream: catalog with `rateLimit`, its own limiter on the shared Redis. */
async function instance(rateLimit: { calls: number; perMs: number }, totalMs = 3000): Promise<Downstream> {
  const redis = createRedis(server.url, logger, { maxReconnectDelayMs: 250 });
  connections.push(redis);
  const limiter = createLimiter({
    shared: createRedisLimitStore({ redis }),
    link: createRedisLink(redis),
    divisor: () => 2,
    config: (await loadConfigFile(DEMO_CONFIG_PATH, {})).limits,
    logger,
  });
  await limiter.start();
  limiters.push(limiter);
  const config = configSchema.parse({ plans: {}, tenants: {}, downstream: { catalog: { rateLimit, timeouts: { totalMs }, retry: { maxAttempts: 1 } } } });
  const downstream = createDownstream({ urls: sample.urls, config: config.downstream, logger, limiter });
  downstreams.push(downstream);
  return downstream;
}

const get = (downstream: Downstream, i: number) =>
  downstream.client('catalog').get(`/products/prd_${(i % 50) + 1}`, { tenantId: 'acme', requestId: `req-${i}` });

describe('downstream rate budget', () => {
  it('holds two instances together to the rate across the fleet; calls over it wait their turn and are served', async () => {
    const [a, b] = await Promise.all([instance({ calls: 10, perMs: 1000 }), instance({ calls: 10, perMs: 1000 })]);
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => get(i % 2 === 0 ? a : b, i)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    const arrivals = sample.services.catalog
      .requests()
      .map((r) => r.at)
      .sort((x, y) => x - y);
    expect(arrivals).toHaveLength(20);
    // Never more than 10 in a rolling second at the service (900 ms: arrivals lag admissions a little).
    for (const [i, at] of arrivals.entries()) expect(arrivals.filter((t) => t >= at && t < at + 900).length, `window from call ${i}`).toBeLessThanOrEqual(10);
    // The second ten waited for the first ten to leave the window.
    expect((arrivals.at(10) ?? 0) - started).toBeGreaterThanOrEqual(800);
  });

  it('refuses at once, with DOWNSTREAM_OVERLOADED rate_budget, a call whose wait for room would pass its deadline', async () => {
    const downstream = await instance({ calls: 2, perMs: 60_000 }, 1000);
    await Promise.all([get(downstream, 1), get(downstream, 2)]);
    const started = Date.now();
    const error = await get(downstream, 3).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(DownstreamError);
    expect(error).toMatchObject({ code: 'DOWNSTREAM_OVERLOADED', reason: 'rate_budget' });
    expect((error as DownstreamError).message).toMatch(
      /^catalog service is overloaded: its budget of 2 calls per 60000 ms, across the gateway fleet, has no room before the call's deadline \(waited \d+ ms\)\. Retry in 30 s\.$/,
    );
    expect(sample.services.catalog.requests()).toHaveLength(2);
  });

  it('needs a limiter to keep a rateLimit', () => {
    const config = configSchema.parse({ plans: {}, tenants: {}, downstream: { orders: { rateLimit: { calls: 5, perMs: 1000 } } } });
    expect(() => createDownstream({ urls: sample.urls, config: config.downstream, logger })).toThrow(
      'downstream.orders.rateLimit needs a limiter to keep it: none was given',
    );
  });
});
