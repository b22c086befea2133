import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import type { Adjustment } from '../../src/limits/store/types.js';
import { createLogger } from '../../src/observability/logger.js';
import type { LeaseEvent } from '../../src/record/lease-event.js';
import { createLeaseEvents } from '../../src/record/lease-events.js';
import type { RequestRecord } from '../../src/record/request-record.js';
import { createSettleStamps } from '../../src/record/settle-stamps.js';
import { createReplayCharges } from '../../src/replay/replay-dimensions.js';
import type { ReplayedDecision } from '../../src/replay/replay-decider.js';
import { createReplayRun } from '../../src/replay/replay-run.js';
import { createRedis, type RedisClient } from '../../src/stores/redis.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Replay of leased traffic against what Redis decided, in process and under heavier leasing than
 * the gateways of faithfulness.quiet.test.ts make: three limiters (instances) on one redis-server,
 * leases on (renewals, unused tokens refunded, response bytes reserved on a byte budget), each
 * request recorded through the hooks the gateway records with (its decision's store time, call
 * number and lease; its settle's stamp; the leases' grants and refunds), then the period replayed
 * against the same plan. Every decision must be the live one.
 */
const INSTANCES = 3;
const LOOPS = 6;
const LOAD_MS = 4000;
const TENANT = 'globex';

let redis: TestRedis;
let config: Config;
const clients: RedisClient[] = [];
const limiters: Limiter[] = [];
const records: RequestRecord[] = [];
const events: LeaseEvent[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  const demo = parse(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
  demo.demo = { backfillDays: 0, liveTraffic: false };
  // Limits this load reaches in a second or two, large enough that 1 % of each is several requests
  // (leases); a lease's life of 300 ms, so that many end with tokens unused.
  demo.plans.pro.limits = { requestsPerMinute: 3000, costPerMinute: 40_000, responseBytesPerHour: 900_000, perClientShare: 0.5, maxOperationCost: 5000 };
  demo.limits = { ...demo.limits, storeTimeoutMs: 5000, leases: { lifetimeMs: 300 } };
  config = parseConfig(stringify(demo), 'leased-replay.yaml', {});
  const logger = createLogger({ level: 'silent' });
  const stamps = createSettleStamps();
  const leaseEvents = createLeaseEvents((event) => events.push(event));
  const chargeOf = createReplayCharges(config, []);
  for (let i = 0; i < INSTANCES; i++) {
    const client = createRedis(redis.url, logger);
    clients.push(client);
    const limiter = createLimiter({
      shared: createRedisLimitStore({ redis: client }),
      link: createRedisLink(client),
      divisor: () => INSTANCES,
      config: config.limits,
      logger,
      onSettled: (adjustments, stamp) => {
        stamps.settled(adjustments, stamp);
        leaseEvents.settled(adjustments, stamp);
      },
      leaseTrail: leaseEvents,
    });
    await limiter.start();
    limiters.push(limiter);
  }

  /** One request as the limit gate makes it: its dimensions, the decision, the record, the settle after its "response". */
  const request = async (limiter: Limiter, clientId: string, n: number): Promise<void> => {
    const at = Date.now();
    const draft: RequestRecord = {
      at,
      tenantId: TENANT,
      clientId,
      ip: null,
      planId: 'pro',
      rootFields: ['Query.customers'],
      // Two operations (two lease keys per client), each costing less than estimated most times.
      estimatedCost: n % 3 === 0 ? 40 : 20,
      actualCost: (n * 7) % (n % 3 === 0 ? 41 : 21),
      responseBytes: 100 + ((n * 13) % 60),
      throttledBy: null,
    };
    const charge = chargeOf(draft, at);
    if (charge.kind !== 'checked') throw new Error('the plan must check every request');
    const { decision, source } = await limiter.consume(
      charge.dims.map((d) => d.store),
      'open',
    );
    const refused = decision.results.findIndex((r) => !r.allowed);
    const record: RequestRecord = {
      ...draft,
      throttledBy: decision.allowed ? null : charge.dims[refused]!.kind,
      decidedAt: decision.now,
      ...(decision.seq !== undefined ? { seq: decision.seq } : {}),
      ...(decision.leaseSeq !== undefined ? { leaseSeq: decision.leaseSeq } : {}),
      ...(source === 'local' ? { decidedLocally: true } : {}),
    };
    records.push(record);
    if (!decision.allowed) return;
    // The response takes a moment; then the settle, as limit-gate.ts makes it.
    await new Promise((resolve) => setImmediate(resolve));
    const adjustments: Adjustment[] = [];
    for (const dim of charge.dims) {
      if (dim.kind === 'cost' && draft.actualCost < charge.chargedCost) {
        adjustments.push({ dimension: dim.store, at: decision.chargedAt ?? decision.now, delta: draft.actualCost - charge.chargedCost });
      } else if (dim.kind === 'bandwidth') adjustments.push({ dimension: dim.store, at: decision.now, delta: draft.responseBytes });
    }
    stamps.expect(record, adjustments);
    await limiter.adjust(adjustments, source, decision.draw);
  };

  const stopAt = Date.now() + LOAD_MS;
  await Promise.all(
    limiters.flatMap((limiter, li) =>
      Array.from({ length: LOOPS }, async (_, loop) => {
        const clientId = ['globex-admin', 'globex-viewer', 'globex-support'][(li + loop) % 3]!;
        for (let n = li * 100 + loop; Date.now() < stopAt; n += 7) await request(limiter, clientId, n);
      }),
    ),
  );
  // Closing sends every waiting settle and refunds every lease.
  await Promise.all(limiters.map((limiter) => limiter.close()));
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

describe('a replay of leased traffic from several instances', () => {
  it('decides every request as Redis did: leases granted, renewed and refunded where Redis did them', async () => {
    records.sort((a, b) => a.at - b.at);
    events.sort((a, b) => a.at - b.at);
    const replayed: ReplayedDecision[] = [];
    const replay = createReplayRun({ config, proposal: {}, onDecision: (d) => replayed.push(d) });
    await replay.push(records, events);
    const result = await replay.finish();

    // The run is what it claims: past a limit (the one reached first refuses every request after it), leases of every sort.
    expect(records.filter((r) => r.decidedLocally)).toEqual([]);
    expect(records.filter((r) => r.throttledBy !== null).length).toBeGreaterThan(100);
    const grants = events.filter((e) => e.kind === 'grant');
    expect(records.filter((r) => r.leaseSeq !== undefined && r.seq === undefined).length).toBeGreaterThan(100);
    expect(grants.filter((e) => e.renews !== null).length).toBeGreaterThan(0);
    expect(grants.filter((e) => e.bytesPerRequest > 0).length).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'settle' && e.tokens > 0).length).toBeGreaterThan(0);

    const differing = replayed.filter((d) => d.throttledBy !== d.record.throttledBy);
    const show = differing
      .slice(0, 5)
      .map((d) => ({ live: d.record.throttledBy, replay: d.policy, seq: d.record.seq, leaseSeq: d.record.leaseSeq, decidedAt: d.record.decidedAt }));
    expect({ differing: differing.length, of: records.length, first: show }).toEqual({ differing: 0, of: records.length, first: [] });
    expect(result.changed).toBe(0);
  });
});
