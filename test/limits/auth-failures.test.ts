import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let gateways: TestGateway[];
beforeAll(async () => {
  redis = await startTestRedis();
  // A generous store timeout: a slow Redis answer on a loaded machine would send a failure to the
  // per-instance fallback count, and this test counts across instances exactly.
  const patch = (config: Record<string, any>) => (config.limits = { authFailuresPerIpPerMinute: 5, storeTimeoutMs: 1000 });
  gateways = await Promise.all([1, 2].map(() => startTestGateway({ env: { REDIS_URL: redis.url }, patch })));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await redis.stop();
});

describe('brute-force protection per IP', () => {
  it('answers 429 after too many failed authentications, across instances, before looking at the key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await gateways[i % 2]!.gql(`wrong-key-${i}`, '{ viewer { clientId } }')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    // The sixth failure, on either instance, is one too many: the count is shared in Redis.
    const sixth = await gateways[1]!.gql('wrong-key-6', '{ viewer { clientId } }');
    expect(sixth.status).toBe(429);
    expect(sixth.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', dimension: 'auth-failures' });
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);

    // Now even a valid key from this address is refused before it is looked up.
    const valid = await gateways[1]!.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    expect(valid.status).toBe(429);
    const missing = await gateways[1]!.gql(null, '{ viewer { clientId } }');
    expect(missing.status).toBe(429);
  });
});
