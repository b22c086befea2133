import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { readMinutes } from '../../src/record/reader.js';
import { createMemoryRecordStore, createRedisRecordStore } from '../../src/record/record-store.js';
import { createRequestRecorder } from '../../src/record/recorder.js';
import type { RequestRecord } from '../../src/record/request-record.js';
import { ProposalError, parseProposedPlans } from '../../src/replay/proposed-plans.js';
import { replayRecords } from '../../src/replay/replay-run.js';
import { SimulateError, parseTime, simulateCommand } from '../../src/replay/simulate-command.js';
import { flushKeepingEpoch, useTestRedis } from '../support/redis-server.js';

const logger = createLogger({ level: 'silent' });
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

const CONFIG_TEXT = `
plans:
  free:
    displayName: Free
    limits: { requestsPerMinute: 200, costPerMinute: 5000, maxOperationCost: 500, fieldLimits: { Mutation.placeOrder: { limit: 20, windowSeconds: 60 } } }
  pro:
    displayName: Pro
    limits: { requestsPerMinute: 1000 }
tenants:
  acme: { displayName: Acme, plan: free }
  globex: { displayName: Globex, plan: pro }
`;
const config = parseConfig(CONFIG_TEXT, 'test.yaml', {});

/** acme: 150 requests 100 ms apart from T0, cost 10 each; globex: 50 requests, 1 s apart. */
function traffic(): RequestRecord[] {
  const records: RequestRecord[] = [];
  for (let i = 0; i < 150; i++) {
    records.push({
      at: T0 + i * 100,
      tenantId: 'acme',
      clientId: 'acme-key',
      ip: null,
      planId: 'free',
      rootFields: ['Query.customers'],
      estimatedCost: 10,
      actualCost: 10,
      responseBytes: 900,
      throttledBy: null,
    });
  }
  for (let i = 0; i < 50; i++) {
    records.push({
      at: T0 + i * 1000 + 7,
      tenantId: 'globex',
      clientId: 'globex-key',
      ip: null,
      planId: 'pro',
      rootFields: ['Query.products'],
      estimatedCost: 3,
      actualCost: 2,
      responseBytes: 400,
      throttledBy: null,
    });
  }
  return records.sort((a, b) => a.at - b.at);
}

async function replay(records: RequestRecord[], planText: string) {
  const store = createMemoryRecordStore();
  const recorder = createRequestRecorder({ store, logger });
  for (const r of records) recorder.record(r);
  await recorder.close();
  return replayRecords(readMinutes(store, { from: T0, to: T0 + 120_000 }), { config, proposal: parseProposedPlans(planText, 'plan.yaml', config) });
}

describe('replay against a proposed plan', () => {
  it('says who a halved Free plan refuses, by which limit, from when, and the peak and headroom of each limit', async () => {
    const result = await replay(traffic(), 'plans: { free: { limits: { requestsPerMinute: 100 } } }');
    expect(result).toMatchObject({ records: 200, truncated: false, changed: 50 });
    const [acme, globex] = result.tenants;
    expect(acme).toMatchObject({
      tenantId: 'acme',
      plans: ['free'],
      requests: 150,
      refused: 50,
      refusedBy: { minute: 50 },
      firstRefusalAt: T0 + 100 * 100,
      lastRefusalAt: T0 + 149 * 100,
      liveRefused: 0,
    });
    expect(acme!.limits).toEqual([
      { policy: 'minute', kind: 'requests', limit: 100, peak: 100, peakAt: T0 + 99 * 100, headroom: 0 },
      { policy: 'cost-minute', kind: 'cost', limit: 5000, peak: 1000, peakAt: T0 + 99 * 100, headroom: 4000 },
    ]);
    // Plans not in the proposal decide as they are.
    expect(globex).toMatchObject({ tenantId: 'globex', requests: 50, refused: 0, refusedBy: {}, firstRefusalAt: null });
    expect(globex!.limits).toEqual([{ policy: 'minute', kind: 'requests', limit: 1000, peak: 50, peakAt: T0 + 49 * 1000 + 7, headroom: 950 }]);
  });

  it('lays the proposal over the plan: a new limit, "unlimited" removing one, field limits merged', async () => {
    const result = await replay(traffic(), 'plan: free\nlimits: { costPerMinute: 700, requestsPerMinute: unlimited }');
    const acme = result.tenants.find((t) => t.tenantId === 'acme')!;
    // 70 requests of 10 points fit a minute of 700; the other 80 are refused by cost, none by the (removed) request limit.
    expect(acme).toMatchObject({ refused: 80, refusedBy: { 'cost-minute': 80 }, firstRefusalAt: T0 + 70 * 100 });
    expect(acme.limits.map((l) => l.policy)).toEqual(['cost-minute']);
  });

  it('refuses over the per-operation maximum without charging anything', async () => {
    const records = traffic().map((r) => (r.tenantId === 'acme' && r.at % 200 === 0 ? { ...r, estimatedCost: 80 } : r));
    const result = await replay(records, 'plans: { free: { limits: { maxOperationCost: 50 } } }');
    const acme = result.tenants.find((t) => t.tenantId === 'acme')!;
    expect(acme).toMatchObject({ refused: 75, refusedBy: { 'max-cost': 75 } });
    expect(acme.limits.find((l) => l.policy === 'minute')).toMatchObject({ peak: 75 });
  });

  it('stops at its bound and says so', async () => {
    const store = createMemoryRecordStore();
    const recorder = createRequestRecorder({ store, logger });
    for (const r of traffic()) recorder.record(r);
    await recorder.close();
    const result = await replayRecords(readMinutes(store, { from: T0, to: T0 + 120_000 }), { config, proposal: {}, maxRecords: 120 });
    expect(result).toMatchObject({ records: 120, truncated: true });
  });
});

describe('plans files', () => {
  it('names what is wrong: a plan the config does not have, a bad limit, not a plans file', () => {
    expect(() => parseProposedPlans('plans: { gold: { limits: { requestsPerMinute: 5 } } }', 'p.yaml', config)).toThrow(
      new ProposalError('p.yaml names plan "gold", which the config does not have (plans: free, pro)'),
    );
    expect(() => parseProposedPlans('plans: { free: { limits: { requestsPerMinute: -1 } } }', 'p.yaml', config)).toThrow(
      /^p\.yaml is not a plans file .*\n {2}plans\.free\.limits\.requestsPerMinute: Too small: expected number to be >=0/,
    );
    expect(() => parseProposedPlans('plans: {}', 'p.yaml', config)).toThrow(new ProposalError('p.yaml proposes no plan'));
    expect(() => parseProposedPlans('{ nope', 'p.json', config)).toThrow(/^p\.json is not YAML or JSON/);
  });

  it('reads times as ISO 8601, epoch ms, now and now-<n><unit>', () => {
    const now = T0;
    expect(parseTime('2026-12-01T09:00:00Z', now, '--from')).toBe(T0);
    expect(parseTime(String(T0), now, '--from')).toBe(T0);
    expect(parseTime('now', now, '--to')).toBe(T0);
    expect(parseTime('now-7d', now, '--from')).toBe(T0 - 7 * 86_400_000);
    expect(() => parseTime('yesterday', now, '--from')).toThrow(new SimulateError('--from is not a time (ISO 8601, epoch ms, now, now-7d): yesterday'));
  });
});

const redis = useTestRedis();

describe('npm run simulate', () => {
  it('replays the record in Redis and prints the table, or JSON', async () => {
    await flushKeepingEpoch(redis.client);
    const recorder = createRequestRecorder({ store: createRedisRecordStore(redis.client), logger });
    for (const r of traffic()) recorder.record(r);
    await recorder.close();
    const dir = await mkdtemp(join(tmpdir(), 'simulate-'));
    await writeFile(join(dir, 'config.yaml'), CONFIG_TEXT);
    await writeFile(join(dir, 'plan.json'), JSON.stringify({ plans: { free: { limits: { requestsPerMinute: 100 } } } }));
    const argv = ['--plan', join(dir, 'plan.json'), '--from', '2026-12-01T09:00:00Z', '--to', '2026-12-01T09:02:00Z', '--config', join(dir, 'config.yaml')];
    const env = { REDIS_URL: redis.server.url };

    const text = await simulateCommand(argv, env, logger);
    expect(text).toContain('Replay of 2026-12-01T09:00:00Z .. 2026-12-01T09:02:00Z against free { requestsPerMinute: 100 }');
    expect(text).toMatch(/200 recorded requests replayed in [\d.]+ s; 50 decided differently from live\./);
    expect(text).toContain('1 of 2 tenants would be refused:');
    expect(text).toContain('acme (free): 150 requests, 50 refused (33.3%): minute 50; live refused 0');
    expect(text).toContain('  refusals from 2026-12-01T09:00:10Z to 2026-12-01T09:00:14.900Z');
    expect(text).toMatch(/ {2}minute +100 +100 \(100%\) +2026-12-01T09:00:09\.900Z +none/);
    expect(text).toMatch(/ {2}cost-minute +5000 +1000 \(20\.0%\) +2026-12-01T09:00:09\.900Z +4000 \(80\.0%\)/);

    const json = JSON.parse(await simulateCommand([...argv, '--json'], env, logger));
    expect(json).toMatchObject({
      records: 200,
      changed: 50,
      tenants: [
        { tenantId: 'acme', refused: 50 },
        { tenantId: 'globex', refused: 0 },
      ],
    });

    await expect(simulateCommand(['--plan', join(dir, 'plan.json')], env, logger)).rejects.toThrow(/^--plan, --from and --to are required/);
    await expect(simulateCommand([...argv.slice(0, 4), '--to', '2026-11-30T00:00:00Z', ...argv.slice(6)], env, logger)).rejects.toThrow(
      new SimulateError('--to must be after --from: 2026-12-01T09:00:00.000Z .. 2026-11-30T00:00:00.000Z'),
    );
  });
});
