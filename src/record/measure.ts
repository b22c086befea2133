/**
 * What the request record costs, measured: `npx tsx src/record/measure.ts redis://host:port
 * [requestsPerSecond]` (needs an empty scratch database: it FLUSHALLs it). Writes one million
 * representative records through the real recorder and Redis store, flushing once per second
 * of request time as a gateway does, each with its operation key from the real operation book,
 * with store times and call numbers as a gateway on a shared limit store gives them (`noseq`: without the
 * numbers, the format before them), then reports Redis memory per million requests (the record's streams and the operations' day
 * hashes apart), the encoding time, the CPU time of the operation keys, and how fast
 * `readRecords` streams them back. src/record/RECORD.md has the figures.
 */
import { Redis } from 'ioredis';
import { createLogger } from '../observability/logger.js';
import { readRecords } from './reader.js';
import { parse, type DocumentNode } from 'graphql';
import { createOperationBook } from './operation-book.js';
import { createRedisOperationStore } from './operation-store.js';
import { createRedisRecordStore } from './record-store.js';
import { createRequestRecorder } from './recorder.js';
import type { RequestRecord } from './request-record.js';

const TOTAL = 1_000_000;
const ROOTS = ['Query.customers', 'Query.orders', 'Query.products', 'Query.product', 'Query.dashboard', 'Query.viewer', 'Query.usage', 'Mutation.placeOrder'];

/** Each tenant's store call counter (store/call-sequence.ts): a call per request, and one more for a settle sent alone. */
const calls = new Map<number, number>();

/**
 * 1,000 tenants, 3 keys each, a per-IP limit on a third of them, 1 or 2 root fields, costs and sizes
 * spread; decided 0-4 ms after acceptance, and with numbers, each call of its tenant numbered; the
 * settle of an admitted request that costs less than estimated lands 0-999 ms later on the next call.
 */
function representative(i: number, at: number, numbered: boolean): RequestRecord {
  const tenant = (i * 7919) % 1000;
  const estimatedCost = 1 + ((i * 31) % 200);
  const actualCost = (i * 17) % 150;
  const throttledBy = i % 50 === 0 ? 'minute' : null;
  const decidedAt = at + (i % 5);
  const stored = { decidedAt, ...(throttledBy === null && actualCost < estimatedCost ? { settledAt: decidedAt + ((i * 13) % 1000) } : {}) };
  if (!numbered) return { ...record(i, at, tenant, estimatedCost, actualCost, throttledBy), ...stored };
  const seq = (calls.get(tenant) ?? 0) + 1;
  const settleSeq = seq + 1;
  calls.set(tenant, stored.settledAt === undefined ? seq : settleSeq);
  return { ...record(i, at, tenant, estimatedCost, actualCost, throttledBy), ...stored, seq, ...(stored.settledAt === undefined ? {} : { settleSeq }) };
}

function record(i: number, at: number, tenant: number, estimatedCost: number, actualCost: number, throttledBy: string | null): RequestRecord {
  return {
    at,
    tenantId: `tenant-${tenant}`,
    clientId: `tenant-${tenant}-key-${i % 3}`,
    ip: tenant % 3 === 0 ? `203.0.${(i >> 8) & 255}.${i & 255}` : null,
    planId: ['free', 'pro', 'enterprise', 'partner'][tenant % 4]!,
    rootFields: i % 4 === 0 ? [ROOTS[i % 8]!, ROOTS[(i + 3) % 8]!] : [ROOTS[i % 8]!],
    estimatedCost,
    actualCost,
    responseBytes: 200 + ((i * 97) % 5000),
    throttledBy,
  };
}

/**
 * 200 distinct documents of 150 to 1,500 characters (one parse each, as Apollo's document store
 * gives); 60 % of requests run one without variables, 40 % one of 50 documents with an id from
 * 2,000 (`product(id:)`, `order(id:)` lookups).
 */
const DOCUMENTS: DocumentNode[] = Array.from({ length: 200 }, (_, d) => {
  const fields = Array.from({ length: 3 + ((d * 37) % 60) }, (_, f) => `f${f}: name`).join(' ');
  return parse(d < 50 ? `query Op${d}($id: ID!) { product(id: $id) { ${fields} } }` : `query Op${d} { products(first: ${1 + (d % 20)}) { ${fields} } }`);
});

function operationOf(i: number): { document: DocumentNode; operationName: string; variables: Record<string, unknown> | undefined } {
  const withVariables = i % 5 < 2;
  const d = withVariables ? spread(i, 50) : 50 + spread(i + 1, 150);
  return { document: DOCUMENTS[d]!, operationName: `Op${d}`, variables: withVariables ? { id: `p-${spread(i + 2, 2000)}` } : undefined };
}

/** A well-spread value below `n` for request i (Knuth's multiplicative hash), so documents and ids combine freely. */
function spread(i: number, n: number): number {
  return (Math.imul(i, 2654435761) >>> 8) % n;
}

async function main(): Promise<void> {
  const url = process.argv[2];
  const perSecond = Number(process.argv[3] ?? 1000);
  // `nokeys`: the record as it was before operation keys, to measure what they add.
  const withKeys = !process.argv.slice(4).includes('nokeys');
  // `noseq`: the store call numbers left out (the record as it was before them).
  const numbered = !process.argv.slice(4).includes('noseq');
  if (!url) throw new Error('usage: npx tsx src/record/measure.ts redis://host:port [requestsPerSecond] [nokeys] [noseq]');
  const redis = new Redis(url);
  await redis.flushall();
  const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const store = createRedisRecordStore(redis);
  const logger = createLogger({ level: 'silent' });
  const recorder = createRequestRecorder({ store, logger, intervalMs: 3_600_000 });
  const book = createOperationBook({ store: createRedisOperationStore(redis), logger, retentionMs: 8 * 86_400_000, intervalMs: 3_600_000 });
  // Today (UTC): the operations' day hashes expire at an absolute time, the day's end plus the retention.
  const t0 = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  let flushMs = 0;
  let keyMicros = 0;
  for (let i = 0; i < TOTAL; i++) {
    const record = representative(i, t0 + Math.floor((i * 1000) / perSecond), numbered);
    // As the request path does: the hook once priced, the key when the record is made.
    const cpu = process.cpuUsage();
    const state = {};
    if (withKeys) book.priced(state, operationOf(i));
    const key = book.keyOf(state, record.at);
    keyMicros += process.cpuUsage(cpu).user;
    if (key !== undefined && withKeys) record.operation = key;
    recorder.record(record);
    if ((i + 1) % perSecond === 0 || i === TOTAL - 1) {
      const start = performance.now();
      await Promise.all([recorder.flush(), book.flush()]);
      flushMs += performance.now() - start;
    }
  }
  const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const keys = await redis.dbsize();
  let operationBytes = 0;
  let operationEntries = 0;
  for (const key of await redis.keys('record:ops:*')) {
    operationBytes += Number(await redis.memory('USAGE', key, 'SAMPLES', '0'));
    operationEntries += await redis.hlen(key);
  }
  const to = t0 + Math.ceil((TOTAL * 1000) / perSecond) + 1;
  const readStart = performance.now();
  let read = 0;
  let last = 0;
  for await (const batch of readRecords(store, { from: t0, to })) {
    for (const r of batch) {
      if (r.at < last) throw new Error('records out of order');
      last = r.at;
    }
    read += batch.length;
  }
  const readMs = performance.now() - readStart;
  const mib = (after - before) / 1024 / 1024;
  console.log(`${TOTAL} records at ${perSecond}/s of request time: ${keys} minute streams, ${recorder.stats().written} written`);
  console.log(`redis memory: ${mib.toFixed(1)} MiB per million requests (${((after - before) / TOTAL).toFixed(1)} B per request), of which`);
  console.log(`  operations: ${(operationBytes / 1024 / 1024).toFixed(2)} MiB in ${operationEntries} entries (${book.stats().notKept} requests not kept)`);
  console.log(`operation keys: ${(keyMicros / TOTAL).toFixed(2)} µs of CPU per request`);
  console.log(`encode + write: ${(flushMs / 1000).toFixed(2)} s in all, ${((flushMs * 1000) / TOTAL).toFixed(2)} µs per request`);
  console.log(`read: ${read} records in ${(readMs / 1000).toFixed(2)} s = ${Math.round((read / readMs) * 60_000).toLocaleString('en')} per minute`);
  redis.disconnect();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
