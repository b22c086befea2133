import { loadavg } from 'node:os';
import { buildSchema, parse } from 'graphql';
import { Redis } from 'ioredis';
import { replayWithSizes } from '../../src/calibration/sized-replay.js';
import { DEMO_TRAFFIC_QUERIES } from '../../src/demo/live-traffic.js';
import { loadSchemaSdl } from '../../src/graph/load-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationBook } from '../../src/record/operation-book.js';
import { createOperationReader } from '../../src/record/operation-reader.js';
import { createRedisOperationStore } from '../../src/record/operation-store.js';
import { readMinutes } from '../../src/record/reader.js';
import { createRedisRecordStore } from '../../src/record/record-store.js';
import { createRequestRecorder } from '../../src/record/recorder.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import type { Scenario } from '../scenario.js';
import { benchConfig, representative } from './replay.js';

const TOTAL = 1_000_000;
const PER_SECOND = 2000;
/** Records the gateway replays at most with the suggestions together (MAX_REPLAY_DECISIONS over two runs). */
const BOUND_PER_MINUTE = 500_000;
const ORDERS = 'query Orders($first: Int) { orders(first: $first) { nodes { id items { quantity product { name } } } } }';

/**
 * Cost calibration's replay (src/calibration/sized-replay.ts), as the gateway bounds it: the
 * replay scenario's million records, each keyed by the real operation book (the demo traffic's
 * five queries and an `orders(first: 1..20)` lookup: 25 operations), read once from Redis and
 * replayed twice, as recorded and with `Order.items` priced at 3 (each record's operation priced
 * again, each distinct one once).
 */
export const calibrationReplayScenario: Scenario = {
  name: 'calibration-replay',
  description: 'replaying 1 million recorded requests as recorded and with a suggested @listSize (two runs, one read)',
  async run(options, log) {
    const redis = await startTestRedis();
    const client = new Redis(redis.url);
    try {
      const config = benchConfig();
      const logger = createLogger({ level: 'silent' });
      const store = createRedisRecordStore(client);
      const operations = createRedisOperationStore(client);
      const recorder = createRequestRecorder({ store, logger, intervalMs: 3_600_000 });
      const book = createOperationBook({ store: operations, logger, retentionMs: 8 * 86_400_000, intervalMs: 3_600_000 });
      const documents = [...DEMO_TRAFFIC_QUERIES, ORDERS].map((text) => parse(text));
      // Today: the operations' day hashes expire at the day's end plus the retention.
      const t0 = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      for (let i = 0; i < TOTAL; i++) {
        const record = representative(i, t0 + Math.floor((i * 1000) / PER_SECOND));
        const d = i % documents.length;
        const state = {};
        book.priced(state, {
          document: documents[d]!,
          operationName: undefined,
          variables: d === documents.length - 1 ? { first: 1 + (Math.floor(i / documents.length) % 20) } : undefined,
        });
        const key = book.keyOf(state, record.at);
        if (key !== undefined) record.operation = key;
        recorder.record(record);
        if ((i + 1) % PER_SECOND === 0) await Promise.all([recorder.flush(), book.flush()]);
      }
      await Promise.all([recorder.close(), book.close()]);
      const range = { from: t0, to: t0 + Math.ceil((TOTAL * 1000) / PER_SECOND) + 1 };
      log(`wrote ${recorder.stats().written} records with ${book.stats().written} operation entries`);
      const schema = buildSchema(await loadSchemaSdl());

      const perMinute = (n: number, ms: number) => Math.round((n / ms) * 60_000);
      const cpu: number[] = [];
      const wall: number[] = [];
      let last: Awaited<ReturnType<typeof replayWithSizes>> | null = null;
      for (let round = 0; round < options.rounds; round++) {
        const started = performance.now();
        const before = process.cpuUsage();
        last = await replayWithSizes({
          source: readMinutes(store, range),
          operations: createOperationReader(operations),
          config,
          schema,
          defaultListSize: 10,
          sets: [{ label: 'all suggestions', sizes: new Map([['Order.items', 3]]) }],
        });
        const used = process.cpuUsage(before);
        cpu.push(perMinute(last.records, (used.user + used.system) / 1000));
        wall.push(perMinute(last.records, performance.now() - started));
        log(`round ${round + 1}: ${wall.at(-1)!.toLocaleString('en')} records/min wall, ${cpu.at(-1)!.toLocaleString('en')}/min of CPU time`);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
      const set = last?.sets[0];
      return {
        title: `calibration replay: ${TOTAL.toLocaleString('en')} recorded requests, read once, replayed as recorded and with Order.items at 3`,
        baseline: '',
        variants: [],
        notes: [
          `${median(wall).toLocaleString('en')} records per minute of wall time, ${median(cpu).toLocaleString('en')} per minute of CPU time (two decisions each)`,
          `repriced ${last?.repriced ?? 0} of ${last?.records ?? 0}; estimated ${last?.estimatedBefore ?? 0} -> ${set?.estimated ?? 0}; cost refusals ${set?.costRefusedBefore ?? 0} -> ${set?.costRefusedAfter ?? 0}`,
          `load average: ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')} on 2 cores`,
        ],
        // The gateway's bound (calibration-replay.ts): 1,000,000 decisions, 500,000 records of two runs, meant as about a minute of one core.
        verdict: {
          met: last !== null && last.records === TOTAL && median(cpu) >= BOUND_PER_MINUTE,
          line: `${median(cpu).toLocaleString('en')} records per minute of CPU time, two runs each (the console's bound, ${BOUND_PER_MINUTE.toLocaleString('en')}, in a minute)`,
        },
      };
    } finally {
      client.disconnect();
      await redis.stop();
    }
  },
};
