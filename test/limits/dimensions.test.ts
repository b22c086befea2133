import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { flushKeepingEpoch, startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let client: Redis;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      // acme (free): a tiny daily quota in a far-east time zone; globex (pro): tiny bandwidth;
      // initech (enterprise): only a per-minute limit, for counting Redis commands.
      config.plans.free.limits = { requestsPerDay: 3 };
      config.tenants.acme.timeZone = 'Asia/Tokyo';
      config.plans.pro.limits = { responseBytesPerHour: 300 };
      config.plans.enterprise.limits = { requestsPerMinute: 1000 };
      // Background Redis traffic would blur the command counts; a generous store timeout keeps a
      // slow answer on a loaded machine from switching a request to the local fallback.
      // Leases off: this file counts one check per request; what leases save is in leases.test.ts.
      config.limits = { instanceHeartbeatMs: 600_000, overridesPollMs: 600_000, storeTimeoutMs: 1000, leases: { enabled: false } };
      // The usage flush is a script call of its own (EVALSHA): once a second would land in the count.
      config.usage = { flushIntervalMs: 600_000 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  client.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await flushKeepingEpoch(client);
});

const VIEWER = '{ viewer { clientId } }';

async function commandStats(): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  return Object.fromEntries([...info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('limit dimensions', () => {
  it("refuses past a calendar day quota until the next midnight in the tenant's time zone", async () => {
    for (let i = 0; i < 3; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).status).toBe(200);
    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER);
    expect(refused.status).toBe(429);
    const ext = refused.body.errors![0]!.extensions!;
    expect(ext).toMatchObject({ dimension: 'quota', policy: 'day', limit: 3, window: 'calendar day (Asia/Tokyo)' });
    // Next midnight in Tokyo (UTC+9, no DST) is 15:00 UTC.
    const resetAt = new Date(ext.resetAt);
    expect(resetAt.getUTCHours()).toBe(15);
    expect(resetAt.getUTCMinutes()).toBe(0);
    expect(resetAt.getTime() - Date.now()).toBeGreaterThan(0);
    expect(resetAt.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    // Retry-After counts from the decision (Redis time); this test reads the clock a moment later.
    const untilReset = (resetAt.getTime() - Date.now()) / 1000;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(Math.ceil(untilReset));
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(Math.ceil(untilReset) + 1);
  });

  it('counts response bytes after the response and refuses once the hourly bandwidth is used up', async () => {
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId tenant { displayName } } }');
      if (r.status !== 200) break;
      sizes.push(Number(r.headers.get('content-length')));
      // The bytes are added after the response is sent; give that a moment.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const refused = await gateway.gql(DEMO_TOKENS.globexAdmin, VIEWER);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ dimension: 'bandwidth', policy: 'bytes-hour', limit: 300 });
    // Requests are admitted while some of the 300 bytes are left: every response but the last
    // started under the limit, and the last one crossed it.
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(300);
    expect(total - sizes.at(-1)!).toBeLessThan(300);
  });

  it('makes exactly one Redis call per request for the limit check, and no other', async () => {
    await gateway.gql(DEMO_TOKENS.initechAdmin, VIEWER); // the script is loaded once
    const before = await commandStats();
    for (let i = 0; i < 20; i++) expect((await gateway.gql(DEMO_TOKENS.initechAdmin, VIEWER)).status).toBe(200);
    const after = await commandStats();
    const delta = Object.fromEntries(
      Object.entries(after)
        .map(([name, calls]) => [name, calls - (before[name] ?? 0)])
        .filter(([, d]) => (d as number) > 0),
    );
    // One EVALSHA per request. Redis also counts the commands the script runs inside (one TIME
    // and one INCR of the tenant's call counter each, hash reads and writes); nothing else reached it.
    expect(delta.evalsha).toBe(20);
    expect(delta.time).toBe(20);
    expect(delta.incr).toBe(20);
    const insideScript = new Set(['evalsha', 'time', 'incr', 'hmget', 'hget', 'hgetall', 'hincrby', 'hdel', 'hset', 'del', 'pexpire', 'info']);
    expect(Object.keys(delta).filter((name) => !insideScript.has(name))).toEqual([]);
  });
});
