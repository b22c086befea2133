import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { DEMO_TRAFFIC_QUERIES } from '../../src/demo/live-traffic.js';
import { createLogger } from '../../src/observability/logger.js';
import { readRecords } from '../../src/record/reader.js';
import { createRedisRecordStore } from '../../src/record/record-store.js';
import type { RequestRecord } from '../../src/record/request-record.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const CALIBRATION = `{ costCalibration {
  responses operations
  fields { coordinate source assumedSize lists p50 p95 max suggestedAssumedSize reason }
  current { medianRatio p95Ratio estimated actual }
  suggested { medianRatio p95Ratio estimated actual }
  effects { coordinate from to requestsChanged estimatedBefore estimatedAfter }
} }`;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `npm run cost -- calibrate ...args` (tsx src/cost/cli.ts) with GATEWAY_TOKEN set. */
function calibrate(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, GATEWAY_TOKEN: token };
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['src/cost/cli.ts', 'calibrate', ...args],
      { cwd: ROOT, env, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The demo's own traffic (src/demo/live-traffic.ts), every query from each demo tenant's admin key. */
const KEYS = [DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.globexAdmin, DEMO_TOKENS.initechAdmin];

describe('cost calibration and the request record through the gateway', () => {
  let redis: TestRedis;
  let gateway: TestGateway;
  const sent: { token: string; query: string; requested: number; actual: number }[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    redis = await startTestRedis();
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.url },
      logger: createLogger({ level: 'silent' }),
      patch: (config) => {
        config.calibration = { enabled: true, sampleEvery: 1 };
        config.record = { enabled: true };
      },
    });
    for (let round = 0; round < 4; round++) {
      for (const token of KEYS) {
        for (const query of DEMO_TRAFFIC_QUERIES) {
          const response = await gateway.gql(token, query);
          expect(response.status).toBe(200);
          sent.push({ token, query, requested: response.body.extensions!.cost.requested, actual: response.body.extensions!.cost.actual });
        }
      }
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it("meets the target on the demo's traffic: suggested median estimate/actual in [1, 1.5], no field priced below its p95", async () => {
    const response = await gateway.gql(DEMO_TOKENS.platformAdmin, CALIBRATION);
    expect(response.body.errors).toBeUndefined();
    const report = response.body.data.costCalibration;
    expect(report.responses).toBe(sent.length);
    expect(report.operations).toBe(DEMO_TRAFFIC_QUERIES.length);
    expect(report.suggested.medianRatio).toBeGreaterThanOrEqual(1);
    expect(report.suggested.medianRatio).toBeLessThanOrEqual(1.5);
    const suggestions = new Map<string, number>(
      report.fields.flatMap((f: any) => (f.suggestedAssumedSize === null ? [] : [[f.coordinate, f.suggestedAssumedSize]])),
    );
    for (const field of report.fields) {
      const priced = suggestions.get(field.coordinate) ?? field.assumedSize;
      // A field sized by a slicing argument is priced at what the client asked for: never below what came back.
      if (priced !== null) expect(priced, field.coordinate).toBeGreaterThanOrEqual(field.p95);
      else expect(field.max, field.coordinate).toBeLessThanOrEqual(5);
    }
    const sums = sent.reduce((s, r) => ({ requested: s.requested + r.requested, actual: s.actual + r.actual }), { requested: 0, actual: 0 });
    expect(report.current).toMatchObject({ estimated: sums.requested, actual: sums.actual });
    // The demo's lists are all sized by slicing arguments the sample services fill: priced exactly, nothing to change.
    expect(report.fields.map((f: any) => f.source).sort()).toEqual(['parentSlicingArgument', 'parentSlicingArgument', 'slicingArgument', 'slicingArgument']);
    expect(report.effects).toEqual([]);
    expect(report.current.medianRatio).toBe(1);
  });

  it('is for platform admins only', async () => {
    const response = await gateway.gql(DEMO_TOKENS.globexAdmin, CALIBRATION);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('npm run cost -- calibrate prints the same report from the running gateway', async () => {
    const { code, stdout, stderr } = await calibrate(DEMO_TOKENS.platformAdmin, '--url', gateway.url);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The tests' own costCalibration queries (a platform admin's, globex's refused one) are observed too.
    expect(stdout).toContain(`${sent.length + 2} responses observed, ${DEMO_TRAFFIC_QUERIES.length + 1} distinct operations`);
    expect(stdout).toMatch(/^Query\.products\s+slicingArgument\s+asked\s+12\s+5\s+5\s+5\s+0 %\s+-$/m);
    expect(stdout).toContain('No @listSize change suggested.');
    expect(stdout).toMatch(/^with the suggestions applied: {2}median 1, p95 1 /m);

    const refused = await calibrate(DEMO_TOKENS.globexAdmin, '--url', gateway.url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`cost: the gateway at ${gateway.url} gave no calibration: Cost calibration is for platform-admin keys only.\n`);
  }, 60_000);

  it('exports estimated / actual per operation on /metrics', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const count = [...text.matchAll(/^graphql_operation_cost_ratio_count\{plan="[^"]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(count).toBe(sent.length);
    expect(text).toMatch(/^graphql_operation_cost_ratio_bucket\{le="1",plan="pro"\} \d+$/m);
  });

  it('records every request the limits saw, and reads them back in order', async () => {
    // A publishable key has a per-IP limit: its record keeps the client address, the others do not.
    const browser = await gateway.gql(DEMO_TOKENS.acmePublishable, '{ products(first: 1) { id } }', undefined, { origin: 'http://localhost:5173' });
    expect(browser.status).toBe(200);
    await gateway.close();
    const client = new Redis(redis.url);
    const records: RequestRecord[] = [];
    for await (const batch of readRecords(createRedisRecordStore(client), { from: startedAt, to: Date.now() + 1 })) records.push(...batch);
    client.disconnect();
    const tenantRecords = records.filter((r) => r.clientId !== 'acme-storefront');
    // + globex-admin's two refused costCalibration queries (platform admins have no limits: not recorded).
    expect(tenantRecords).toHaveLength(sent.length + 2);
    expect(tenantRecords.map((r) => r.at)).toEqual([...tenantRecords.map((r) => r.at)].sort((a, b) => a - b));
    const first = tenantRecords[0]!;
    expect(first).toMatchObject({ tenantId: 'acme', clientId: 'acme-admin', planId: 'free', rootFields: ['Query.dashboard'], throttledBy: null });
    expect(first.estimatedCost).toBe(sent[0]!.requested);
    expect(first.actualCost).toBe(sent[0]!.actual);
    expect(first.responseBytes).toBeGreaterThan(100);
    expect(tenantRecords.every((r) => r.ip === null)).toBe(true);
    expect(records.find((r) => r.clientId === 'acme-storefront')).toMatchObject({ ip: expect.stringMatching(/127\.0\.0\.1$/), rootFields: ['Query.products'] });
  });
});
