import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import { InvalidDimensionError } from '../../src/limits/store/validate.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis } from '../../src/stores/redis.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { freshPrefix, sliding } from './store/helpers.js';

let server: TestRedis;
let redis: Redis;
let limiter: Limiter;
beforeAll(async () => {
  server = await startTestRedis();
  redis = createRedis(server.url, createLogger({ level: 'silent' }), { maxReconnectDelayMs: 250 });
  limiter = createLimiter({
    shared: createRedisLimitStore({ redis }),
    link: createRedisLink(redis),
    divisor: () => 1,
    // The demo config's limits settings: the defaults.
    config: (await loadConfigFile(DEMO_CONFIG_PATH, {})).limits,
    logger: createLogger({ level: 'silent' }),
  });
  await limiter.start();
});
afterAll(async () => {
  limiter?.close();
  redis.disconnect();
  await server.stop();
});

describe('the limiter', () => {
  it('reports a bad dimension as the bug it is, without falling back to local decisions', async () => {
    const bad = sliding(`${freshPrefix()}:bad`, { buckets: 0 });
    await expect(limiter.consume([bad], 'open')).rejects.toBeInstanceOf(InvalidDimensionError);
    await expect(limiter.peek([bad])).rejects.toBeInstanceOf(InvalidDimensionError);
    // Redis is still the one deciding.
    expect(limiter.storeState()).toBe('closed');
    const good = await limiter.consume([sliding(`${freshPrefix()}:good`)], 'open');
    expect(good.source).toBe('shared');
  });
});

describe('the limiter when Redis goes away again while it is coming back', () => {
  it('keeps deciding locally and serving timers (no retry loop), then writes back every admission', async () => {
    const settleMs = 3000;
    const flappy = createRedis(server.url, createLogger({ level: 'silent' }), { maxReconnectDelayMs: 250 });
    const config = { ...(await loadConfigFile(DEMO_CONFIG_PATH, {})).limits, storeRecoverySettleMs: settleMs };
    const own = createLimiter({
      shared: createRedisLimitStore({ redis: flappy }),
      link: createRedisLink(flappy),
      divisor: () => 1,
      config,
      logger: createLogger({ level: 'silent' }),
    });
    const key = `${freshPrefix()}:flap`;
    const dimension = sliding(key, { limit: 1000 });
    try {
      await own.start();
      expect((await own.consume([dimension], 'open')).source).toBe('shared');
      await server.kill();
      await expect.poll(() => own.storeState(), { timeout: 5000 }).toBe('open');
      for (let i = 0; i < 3; i++) expect((await own.consume([dimension], 'open')).source).toBe('local');
      await server.restart();
      // Back: the three local admissions are written back, and for `settleMs` new ones are written through.
      await expect.poll(() => own.storeState(), { timeout: 5000, interval: 20 }).toBe('half-open');
      await expect.poll(async () => Number((await redis.hgetall(key)).t ?? 0), { timeout: 3000, interval: 20 }).toBe(4);
      // Gone again during that settle period: a write-through now fails at once.
      await server.kill();
      await expect.poll(() => own.storeState(), { timeout: 5000, interval: 20 }).toBe('open');
      expect((await own.consume([dimension], 'open')).source).toBe('local');
      // Timers still run: before the fix, the failed write-through retried in a loop of promise
      // callbacks that starved the event loop (this sleep never ended, the process ran out of memory).
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await own.consume([dimension], 'open')).source).toBe('local');
      await server.restart();
      await expect.poll(() => own.storeState(), { timeout: settleMs + 5000, interval: 50 }).toBe('closed');
      // Every admission is in the shared window: 1 shared, 3 + 2 local, written back.
      expect(Number((await redis.hgetall(key)).t)).toBe(6);
    } finally {
      await own.close();
      flappy.disconnect();
    }
  }, 30_000);
});
