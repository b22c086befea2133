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
