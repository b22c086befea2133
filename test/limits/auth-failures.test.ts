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
  it('answers 429 to bad tokens after too many failed authentications, across instances, and never to a valid credential', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await gateways[i % 2]!.gql(`wrong-key-${i}`, '{ viewer { clientId } }')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    // The sixth failure, on either instance, is one too many: the count is shared in Redis.
    const sixth = await gateways[1]!.gql('wrong-key-6', '{ viewer { clientId } }');
    expect(sixth.status).toBe(429);
    expect(sixth.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', dimension: 'auth-failures', retryAfterSeconds: expect.any(Number) });
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Every valid credential from this same address is served, on both instances.
    for (const gateway of gateways) {
      for (const token of [DEMO_TOKENS.globexAdmin, DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.service, DEMO_TOKENS.platformAdmin]) {
        const valid = await gateway.gql(token, '{ viewer { clientId } }');
        expect(valid.status, token).toBe(200);
      }
    }

    // Bad or missing tokens keep getting 429, the same answer whatever the token, on both instances.
    const answers = await Promise.all([
      gateways[0]!.gql('wrong-key-7', '{ viewer { clientId } }'),
      gateways[1]!.gql('demo-globex-admin-typo', '{ viewer { clientId } }'),
      gateways[0]!.gql(null, '{ viewer { clientId } }'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429]);
    expect(new Set(answers.map((a) => a.body.errors![0]!.message.replace(/\d+ s\./, 'N s.'))).size).toBe(1);
  });
});
