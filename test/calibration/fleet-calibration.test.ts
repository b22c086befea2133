import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

async function gql(gateway: GatewayProcess, token: string, query: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

const TAGS = '{ costCalibration { fieldsFrom fields { coordinate lists } } }';
const tagLists = (body: { data?: any }) => body.data?.costCalibration.fields.find((f: { coordinate: string }) => f.coordinate === 'Product.tags')?.lists ?? 0;

describe('cost calibration across instances', () => {
  let redis: TestRedis;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    redis = await startTestRedis();
    const patch = (config: Record<string, any>) => (config.calibration = { enabled: true, sampleEvery: 1, rollupIntervalMs: 200 });
    [a, b] = await Promise.all([startGatewayProcess({ redisUrl: redis.url, patch }), startGatewayProcess({ redisUrl: redis.url, patch })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it("each instance's report counts the lists every instance returned", async () => {
    for (const gateway of [a, a, b]) expect((await gql(gateway, DEMO_TOKENS.globexAdmin, '{ products(first: 20) { id tags } }')).errors).toBeUndefined();
    // A pushes its own at report time; B's arrive within its rollup interval.
    expect(await eventually(async () => tagLists(await gql(a, DEMO_TOKENS.platformAdmin, TAGS)) === 60, 10_000)).toBe(true);
    const fromB = await gql(b, DEMO_TOKENS.platformAdmin, TAGS);
    expect(fromB.data.costCalibration.fieldsFrom).toBe('fleet');
    expect(tagLists(fromB)).toBe(60);
  }, 60_000);
});
