import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createRedisLimitStoreForTests } from '../../src/limits/store/redis-store.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Graduated throttling end to end: a gateway on Redis, acme's plan with 10 requests per rolling
 * minute and a burst zone of 3 requests held at most 8 s. Its minute is filled 56 s ago (by a
 * store on a clock set back), so its room comes back in about 4 s (a margin for a loaded machine
 * to get the requests to their decision before then): requests over the limit are held until then
 * and answered 200 with the delay shown, one past the burst is refused.
 */
const LIMIT = 10;
const BURST = 3;
const VIEWER = '{ viewer { clientId } }';
const MAX_DELAY_MS = 8000;

let redis: TestRedis;
let client: Redis;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      config.plans.free.limits = { requestsPerMinute: LIMIT, requestsPerDay: 'unlimited', burst: { requests: BURST, maxDelayMs: MAX_DELAY_MS } };
    },
  });
});
afterAll(async () => {
  await gateway?.close();
  client?.disconnect();
  await redis?.stop();
});

describe('a request held in its plan burst zone', () => {
  it('runs when the minute has room, with extensions.throttle.delayedMs and a Server-Timing entry; past the burst, 429', async () => {
    // The tenant's minute, as the gateway keys it (limits/dimensions.ts), used up 59 s ago.
    const past = createRedisLimitStoreForTests({ redis: client, now: () => Date.now() - 56_000 });
    const minute = { kind: 'sliding', name: 'minute', key: 'rl:{acme}:req:m', limit: LIMIT, windowMs: 60_000, buckets: 30, amount: LIMIT } as const;
    expect((await past.consume([minute])).allowed).toBe(true);

    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: BURST + 1 }, () => gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)));
    const elapsed = performance.now() - started;

    const held = answers.filter((a) => a.status === 200);
    expect(held).toHaveLength(BURST);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(1);
    for (const answer of held) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data.viewer.clientId).toBe('acme-admin');
      const delayedMs = answer.body.extensions?.throttle?.delayedMs as number;
      // The room comes back one minute after the fill: about 4 s from now, never more than maxDelayMs.
      expect(delayedMs).toBeGreaterThan(0);
      expect(delayedMs).toBeLessThanOrEqual(MAX_DELAY_MS);
      expect(elapsed).toBeGreaterThanOrEqual(delayedMs);
      expect(answer.headers.get('server-timing')).toMatch(new RegExp(`^throttle;dur=${delayedMs};desc=`));
      // Headers stay truthful while it is held: nothing remains in the minute.
      expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.body.extensions?.throttle).toBeUndefined();

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`limit_throttle_delay_seconds_count\\{plan="free"\\} ${BURST}`));
  });
});
