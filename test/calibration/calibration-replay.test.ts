import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalibrationReplay } from '../../src/calibration/calibration-replay.js';
import { calibrationReport } from '../../src/calibration/report.js';
import { replayWithSizes } from '../../src/calibration/sized-replay.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { parseConfig } from '../../src/config/load.js';
import { loadSchemaSdl } from '../../src/graph/load-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationReader } from '../../src/record/operation-reader.js';
import { createMemoryOperationStore, createRedisOperationStore } from '../../src/record/operation-store.js';
import { readMinutes } from '../../src/record/reader.js';
import { createRedisRecordStore, type RecordStore } from '../../src/record/record-store.js';
import type { RequestRecord } from '../../src/record/request-record.js';
import { createPlanReplay } from '../../src/replay/plan-replay.js';
import { createReplaySlot } from '../../src/replay/replay-slot.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { schemaWithItemsSized } from '../support/sized-schema.js';

/**
 * Issue 23, item 3: what a cost calibration suggestion would do to the tenants near their cost
 * limits, by replaying the request record. `Order.items` is priced at assumedSize 40 while the
 * sample orders hold 1 to 5 line items: the estimate overcharges about sevenfold, and two tenants
 * on 1,000 cost points a minute run into COST_LIMIT_EXCEEDED. The replay with the suggested size
 * is checked against a live run of a gateway whose schema declares that size (differential).
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUERY = 'query Orders($first: Int) { orders(first: $first) { nodes { id items { quantity product { name } } } } }';
const VARIABLES = { first: 10 };
/** acme's refusals go with the suggestion; globex sends more, and is still refused some, fewer. */
const TRAFFIC = [
  { tenant: 'acme', token: DEMO_TOKENS.acmeAdmin, requests: 20 },
  { tenant: 'globex', token: DEMO_TOKENS.globexAdmin, requests: 30 },
] as const;
const COST_PER_MINUTE = 1000;

const REPLAY = `query Replay($from: String!, $to: String!) { costCalibrationReplay(from: $from, to: $to, minLists: 20) {
  records maxRecords truncated repriced notRepriced { noOperation notKept unpriceable } estimatedBefore
  sets { label sizes { coordinate assumedSize } estimated requestsChanged costRefusedBefore costRefusedAfter tenantCount
    tenants { tenantId plans requests notRepriced costPerMinute liveCostRefused
      before { costRefused refused peak peakAt headroom } after { costRefused refused peak peakAt headroom } } }
} }`;

function patch(config: Record<string, any>): void {
  config.record = { enabled: true, flushIntervalMs: 200 };
  config.calibration = { enabled: true, sampleEvery: 1, rollupIntervalMs: 0 };
  // Leases charge a reservation ahead, which replay does not reproduce (src/replay/REPLAY.md); a
  // loaded machine must not send a check to the local fallback.
  config.limits = { ...config.limits, storeTimeoutMs: 5000, leases: { enabled: false } };
  config.tenants.globex.overrides = { costPerMinute: COST_PER_MINUTE };
}

interface Outcome {
  refused: boolean;
  /** Cost points in use after this request's charge (limit − remaining), when admitted. */
  used: number | null;
}

/** Each tenant's requests in turn, one at a time; what the gateway answered each. */
async function sendTraffic(gateway: TestGateway): Promise<Record<string, Outcome[]>> {
  const out: Record<string, Outcome[]> = {};
  for (const { tenant, token, requests } of TRAFFIC) {
    out[tenant] = [];
    for (let i = 0; i < requests; i++) {
      // The charge is settled in onResponse, after the body is out: a pause lets the refund of
      // unused cost reach the limiter before the next check on a loaded machine too, in this run
      // and in the twin's, so that both decide the next request with it.
      if (i > 0) await new Promise((r) => setTimeout(r, 10));
      const response = await gateway.gql(token, QUERY, VARIABLES);
      // Refused by cost points per minute: a 429 RATE_LIMITED naming the cost dimension.
      if (response.status !== 200)
        expect(response.body.errors?.[0]?.extensions, JSON.stringify(response.body)).toMatchObject({ code: 'RATE_LIMITED', dimension: 'cost' });
      const limit = response.body.extensions?.cost?.limit;
      out[tenant]!.push({ refused: response.status !== 200, used: response.status === 200 && limit ? limit.limit - limit.remaining : null });
    }
  }
  return out;
}

function summary(outcomes: Outcome[]) {
  const used = outcomes.flatMap((o) => (o.used === null ? [] : [o.used]));
  return { refused: outcomes.filter((o) => o.refused).length, peak: Math.max(...used) };
}

/** Runs `npm run cost -- calibrate ...args` (tsx src/cost/cli.ts) with GATEWAY_TOKEN set. */
function calibrate(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['src/cost/cli.ts', 'calibrate', ...args],
      { cwd: ROOT, env: { ...process.env, GATEWAY_TOKEN: token }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('cost calibration replay: the suggestions against the tenants near their cost limits', () => {
  const schemaDirs: string[] = [];
  const redises: TestRedis[] = [];
  let gateway: TestGateway;
  let live: Record<string, Outcome[]>;
  const period = { from: '', to: '' };
  let replay: any;

  beforeAll(async () => {
    const overpriced = await schemaWithItemsSized(40);
    schemaDirs.push(overpriced);
    const redis = await startTestRedis();
    redises.push(redis);
    gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, logger: createLogger({ level: 'silent' }), patch, schemaDir: overpriced });
    period.from = new Date().toISOString();
    live = await sendTraffic(gateway);
    // Each tenant's last settle rides on its next check or goes alone within a second; its record waits for it.
    await new Promise((r) => setTimeout(r, 1500));
    period.to = new Date().toISOString();
    const sent = TRAFFIC.reduce((n, t) => n + t.requests, 0);
    const arrived = await eventually(
      async () => {
        const response = await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, period);
        replay = response.body.data?.costCalibrationReplay;
        if (!replay) throw new Error(JSON.stringify(response.body.errors));
        return replay.records === sent;
      },
      10_000,
      300,
    );
    expect(arrived, `records replayed: ${replay?.records} of ${sent}`).toBe(true);
  }, 90_000);

  afterAll(async () => {
    await gateway?.close();
    for (const r of redises) await r.stop();
    for (const dir of schemaDirs) await rm(dir, { recursive: true, force: true });
  });

  it('suggests a smaller Order.items and replays every recorded request with it', () => {
    const [all] = replay.sets;
    expect(all.label).toBe('all suggestions');
    const items = all.sizes.find((s: { coordinate: string }) => s.coordinate === 'Order.items');
    expect(items.assumedSize).toBeGreaterThanOrEqual(3);
    expect(items.assumedSize).toBeLessThanOrEqual(5);
    expect(replay.truncated).toBe(false);
    // Every request was priced, and its operation kept: each is priced again.
    expect(replay.repriced).toBe(replay.records);
    expect(replay.notRepriced).toEqual({ noOperation: 0, notKept: 0, unpriceable: 0 });
    expect(all.requestsChanged).toBe(replay.records);
    expect(all.estimated).toBeLessThan(replay.estimatedBefore / 4);
  });

  it('as recorded, the replay refuses what the live gateway refused; with the suggestion, acme is refused nothing', () => {
    const [all] = replay.sets;
    const byTenant = Object.fromEntries(all.tenants.map((t: { tenantId: string }) => [t.tenantId, t]));
    expect(Object.keys(byTenant).sort()).toEqual(['acme', 'globex']);
    for (const { tenant } of TRAFFIC) {
      const t = byTenant[tenant];
      const seen = summary(live[tenant]!);
      expect(seen.refused, `${tenant} refused live`).toBeGreaterThan(0);
      expect(t).toMatchObject({ costPerMinute: COST_PER_MINUTE, liveCostRefused: seen.refused, notRepriced: 0 });
      expect(t.before).toMatchObject({ costRefused: seen.refused, refused: seen.refused, peak: seen.peak, headroom: COST_PER_MINUTE - seen.peak });
      expect(t.after.costRefused).toBeLessThan(t.before.costRefused);
    }
    expect(byTenant.acme.after.costRefused).toBe(0);
    expect(byTenant.globex.after.costRefused).toBeGreaterThan(0);
    expect(all.costRefusedBefore).toBe(byTenant.acme.before.costRefused + byTenant.globex.before.costRefused);
    expect(all.costRefusedAfter).toBe(byTenant.globex.after.costRefused);
  });

  it('with the suggestion, refuses exactly what a gateway whose schema declares that size refuses live (differential)', async () => {
    const size = replay.sets[0].sizes.find((s: { coordinate: string }) => s.coordinate === 'Order.items').assumedSize;
    const suggested = await schemaWithItemsSized(size);
    schemaDirs.push(suggested);
    const redis = await startTestRedis();
    redises.push(redis);
    const twin = await startTestGateway({ env: { REDIS_URL: redis.url }, logger: createLogger({ level: 'silent' }), patch, schemaDir: suggested });
    let outcomes: Record<string, Outcome[]>;
    try {
      outcomes = await sendTraffic(twin);
    } finally {
      await twin.close();
    }
    const byTenant = Object.fromEntries(replay.sets[0].tenants.map((t: { tenantId: string }) => [t.tenantId, t]));
    for (const { tenant } of TRAFFIC) {
      const seen = summary(outcomes[tenant]!);
      expect({ tenant, refused: byTenant[tenant].after.costRefused, peak: byTenant[tenant].after.peak }).toEqual({ tenant, ...seen });
    }
  }, 60_000);

  it('replays records without operation keys as before: their recorded estimates, counted', async () => {
    const redis = new Redis(redises[0]!.url);
    try {
      const range = { from: Date.parse(period.from), to: Date.parse(period.to) };
      const stripped = async function* () {
        for await (const minute of readMinutes(createRedisRecordStore(redis), range)) {
          yield { ...minute, records: minute.records.map(({ operation: _dropped, ...record }): RequestRecord => record) };
        }
      };
      const schema = buildSchema(await loadSchemaSdl(schemaDirs[0]));
      const result = await replayWithSizes({
        source: stripped(),
        operations: createOperationReader(createRedisOperationStore(redis)),
        config: gateway.config.current(),
        schema,
        defaultListSize: 10,
        sets: [{ label: 'all suggestions', sizes: new Map([['Order.items', 5]]) }],
      });
      expect(result.repriced).toBe(0);
      expect(result.notRepriced).toEqual({ noOperation: replay.records, notKept: 0, unpriceable: 0 });
      const [set] = result.sets;
      expect(set!.estimated).toBe(result.estimatedBefore);
      expect(set!.costRefusedAfter).toBe(set!.costRefusedBefore);
      expect(set!.tenants.map((t) => [t.tenantId, t.before, t.notRepriced])).toEqual(set!.tenants.map((t) => [t.tenantId, t.after, t.requests]));
      expect(set!.costRefusedBefore).toBe(replay.sets[0].costRefusedBefore);
    } finally {
      redis.disconnect();
    }
  });

  it('replays several size sets from one read: each alone, and all together', async () => {
    const redis = new Redis(redises[0]!.url);
    try {
      const range = { from: Date.parse(period.from), to: Date.parse(period.to) };
      const sized = (sizes: [string, number][]) => ({ label: sizes.map(([c, n]) => `${c}=${n}`).join(' '), sizes: new Map(sizes) });
      const result = await replayWithSizes({
        source: readMinutes(createRedisRecordStore(redis), range),
        operations: createOperationReader(createRedisOperationStore(redis)),
        config: gateway.config.current(),
        schema: buildSchema(await loadSchemaSdl(schemaDirs[0])),
        defaultListSize: 10,
        // Product.tags is not in the operation: it changes nothing alone, nor added to Order.items.
        sets: [
          sized([
            ['Order.items', 5],
            ['Product.tags', 3],
          ]),
          sized([['Order.items', 5]]),
          sized([['Product.tags', 3]]),
          sized([['Order.items', 1]]),
        ],
      });
      const [all, items, tags, one] = result.sets;
      const fromGateway = replay.sets[0];
      // The gateway's own run with its suggestion decides as the same set replayed here.
      for (const set of [all!, items!]) {
        expect({
          estimated: set.estimated,
          costRefusedAfter: set.costRefusedAfter,
          tenants: set.tenants.map((t) => [t.tenantId, t.after.costRefused, t.after.peak]),
        }).toEqual({
          estimated: fromGateway.estimated,
          costRefusedAfter: fromGateway.costRefusedAfter,
          tenants: fromGateway.tenants.map((t: any) => [t.tenantId, t.after.costRefused, t.after.peak]),
        });
      }
      expect(tags).toMatchObject({ requestsChanged: 0, estimated: result.estimatedBefore, costRefusedAfter: tags!.costRefusedBefore });
      // Priced at one line item per order, the operation costs 10 x 4 less than at five: fewer refusals still.
      expect(one!.estimated).toBeLessThan(all!.estimated);
      expect(one!.costRefusedAfter).toBeLessThanOrEqual(all!.costRefusedAfter);
    } finally {
      redis.disconnect();
    }
  });

  it('is for platform admins only', async () => {
    // initech: a tenant key with room left in its limits (acme and globex are at their cost limits).
    const response = await gateway.gql(DEMO_TOKENS.initechAdmin, REPLAY, period);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('npm run cost -- calibrate --replay prints the same, per tenant near its cost limits', async () => {
    const { code, stdout, stderr } = await calibrate(DEMO_TOKENS.platformAdmin, '--url', gateway.url, '--replay', '--from', period.from, '--to', period.to);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [all] = replay.sets;
    const acme = all.tenants.find((t: { tenantId: string }) => t.tenantId === 'acme');
    expect(stdout).toContain(`${replay.records} recorded requests replayed against the plans that were live`);
    expect(stdout).toContain(`cost refusals: ${all.costRefusedBefore} as recorded, ${all.costRefusedAfter} with the suggestions`);
    expect(stdout).toMatch(new RegExp(`^acme\\s+free\\s+1000\\s+${acme.before.costRefused}\\s+0\\s+${acme.before.peak}\\s+${acme.after.peak}\\s`, 'm'));
  }, 60_000);
});

describe('costCalibrationReplay bounds', () => {
  const config = parseConfig('plans: { free: { displayName: Free } }\ntenants: { acme: { displayName: Acme, plan: free } }', 't.yaml', {});
  const empty = { responses: 0, fields: [], operations: [], operationsDropped: 0 };

  it("shares the instance's one replay slot with the What if page's, and checks the period", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const records: RecordStore = {
      append: async () => {},
      blocks: async () => {
        await gate;
        return [];
      },
    };
    const slot = createReplaySlot();
    const schema = buildSchema(await loadSchemaSdl());
    const planReplay = createPlanReplay({ store: records, config: () => config, slot });
    const calibration = createCalibrationReplay({
      records,
      operations: createMemoryOperationStore(),
      config: () => config,
      schema,
      defaultListSize: 10,
      report: async (o) => calibrationReport(schema, empty, o),
      slot,
    });
    const input = { from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:01:00Z', minLists: 20, eachSuggestion: false };
    const first = planReplay.run({ from: input.from, to: input.to, plans: [{ plan: 'free', limits: {}, unlimited: [] }] });
    await expect(calibration.run(input)).rejects.toMatchObject({ extensions: { code: 'REPLAY_IN_PROGRESS' } });
    release();
    await first;
    await expect(calibration.run(input)).resolves.toMatchObject({
      records: 0,
      truncated: false,
      maxRecords: 500_000,
      sets: [{ label: 'all suggestions', sizes: [] }],
    });
    await expect(calibration.run({ ...input, to: '2026-12-10T00:00:00Z' })).rejects.toThrow(
      "the period may span at most 8 days (the record's retention): 2026-12-01T00:00:00Z .. 2026-12-10T00:00:00Z",
    );
    await expect(calibration.run({ ...input, to: input.from })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'to' } });
  });
});
