import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Four gateway instances on one Redis that dies mid-minute and comes back empty. acme's plan
 * allows 50 requests per rolling minute. What must hold: while Redis is away each instance admits
 * only its share of what Redis last said was remaining; when Redis is back, what was admitted
 * (before and during the outage) is in the shared window again, so the minute stays at 50.
 */
let redis: TestRedis;
let gateways: TestGateway[];
const VIEWER = '{ viewer { clientId } }';

beforeAll(async () => {
  redis = await startTestRedis();
  gateways = [];
  // One after the other, so the instance count each reads at start is the real one by the end.
  for (let i = 0; i < 4; i++) {
    gateways.push(
      await startTestGateway({
        env: { REDIS_URL: redis.url },
        patch: (config) => {
          config.plans.free.limits = { requestsPerMinute: 50, requestsPerDay: 'unlimited' };
          config.limits = { instanceHeartbeatMs: 200, storeTimeoutMs: 1000, storeBreakerHalfOpenMs: 100 };
        },
      }),
    );
  }
  // Every instance has counted the four.
  await new Promise((r) => setTimeout(r, 500));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await redis.stop();
});

const ask = (g: TestGateway) => g.gql(DEMO_TOKENS.acmeAdmin, VIEWER);

describe('a Redis outage with four instances', () => {
  it("admits only each instance's share of what was remaining, and the window holds the limit after Redis returns empty", async () => {
    // 20 of 50 admitted through Redis, five per instance.
    for (let i = 0; i < 20; i++) expect((await ask(gateways[i % 4]!)).status).toBe(200);

    await redis.kill();
    let admitted = 0;
    for (let i = 0; i < 40; i++) {
      const r = await ask(gateways[i % 4]!);
      expect(r.status).not.toBeGreaterThanOrEqual(500);
      if (r.status === 200) admitted += 1;
    }
    // Each instance last saw 17 to 20 used, so its share of what remained is floor((50 - u) / 4):
    // 8 + 8 + 7 + 7 = 30. A fresh share of the limit would have been 4 x 12 = 48.
    expect(admitted).toBe(30);

    await redis.restart(); // empty: every count Redis had is gone
    // Each instance is back on Redis within 2 s of it answering (README: about 1.5 s): it wrote
    // back its admissions, so its next request is refused by the shared minute (limit 50, not a
    // local share). Instances see Redis return at different moments (a probe interval and a
    // reconnect delay apart), so each is waited for; until it is back, it admits nothing.
    const started = Date.now();
    for (const g of gateways) {
      let last: Awaited<ReturnType<typeof ask>> | undefined;
      expect(
        await eventually(async () => {
          last = await ask(g);
          expect(last.status).toBe(429);
          return last.headers.get('x-ratelimit-limit') === '50';
        }),
      ).toBe(true);
      expect(last!.body.errors![0]!.extensions).toMatchObject({ policy: 'minute', limit: 50 });
      // The rolling minute frees up when the first admissions are a minute old, not before.
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(30);
    }
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
