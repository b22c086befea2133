import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createLogger } from '../../src/observability/logger.js';
import { readMinutes } from '../../src/record/reader.js';
import { createRedisRecordStore } from '../../src/record/record-store.js';
import { replayRecords } from '../../src/replay/replay-run.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** Priced at 62 cost points (10 orders of 5 line items assumed), about 40 returned. */
const QUERY = '{ orders(first: 10) { nodes { id items { quantity product { name } } } } }';
const REPLAY = `query Replay($from: String!, $to: String!) {
  planReplay(from: $from, to: $to, plans: [{ plan: "pro" }]) { records changed tenants { tenantId refused liveRefused refusedBy { policy count } } }
}`;

/**
 * A platform admin's runtime override (`setTenantLimits`) is part of the limits that were live:
 * replay applies it from when it was set. acme's cost points are cut to 200 a minute at run time;
 * the replay of the period against unchanged plans refuses what the gateway refused.
 */
describe('replay applies runtime limit overrides from when they were set', () => {
  let redis: TestRedis;
  let gateway: TestGateway;
  const period = { from: '', to: '' };
  let refusedLive = 0;

  beforeAll(async () => {
    redis = await startTestRedis();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.url },
      logger: createLogger({ level: 'silent' }),
      patch: (c) => {
        c.record = { enabled: true, flushIntervalMs: 200 };
        c.limits = { ...c.limits, storeTimeoutMs: 5000, leases: { enabled: false } };
      },
    });
    period.from = new Date().toISOString();
    // Sent before the override: admitted under the Free plan's 1,000 cost points.
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, QUERY)).status).toBe(200);
    const set = await gateway.gql(DEMO_TOKENS.platformAdmin, 'mutation { setTenantLimits(tenantId: "acme", input: { costPerMinute: 200 }) { tenantId } }');
    expect(set.body.errors).toBeUndefined();
    for (let i = 0; i < 9; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, QUERY);
      if (response.status === 429) refusedLive += 1;
      else expect(response.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 1500));
    period.to = new Date().toISOString();
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it('decides every recorded request as live did, the override included', async () => {
    expect(refusedLive).toBeGreaterThan(0);
    let replay: any;
    const complete = await eventually(async () => {
      replay = (await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, period)).body.data?.planReplay;
      return replay?.records === 10;
    }, 10_000);
    expect(complete, `records: ${replay?.records}`).toBe(true);
    expect(replay.changed).toBe(0);
    expect(replay.tenants).toEqual([
      { tenantId: 'acme', refused: refusedLive, liveRefused: refusedLive, refusedBy: [{ policy: 'cost-minute', count: refusedLive }] },
    ]);
  });

  it('without it, the same replay would admit what the override refused', async () => {
    const client = new Redis(redis.url);
    try {
      const range = { from: Date.parse(period.from), to: Date.parse(period.to) };
      const result = await replayRecords(readMinutes(createRedisRecordStore(client), range), { config: gateway.config.current(), proposal: {} });
      expect(result.changed).toBe(refusedLive);
      expect(result.tenants[0]).toMatchObject({ tenantId: 'acme', refused: 0, liveRefused: refusedLive });
    } finally {
      client.disconnect();
    }
  });
});
