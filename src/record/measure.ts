/**
 * What the request record costs, measured: `npx tsx src/record/measure.ts redis://host:port
 * [requestsPerSecond]` (needs an empty scratch database: it FLUSHALLs it). Writes one million
 * representative records through the real recorder and Redis store, flushing once per second
 * of request time as a gateway does, then reports Redis memory per million requests, the
 * encoding time, and how fast `readRecords` streams them back. src/record/RECORD.md has the figures.
 */
import { Redis } from 'ioredis';
import { createLogger } from '../observability/logger.js';
import { readRecords } from './reader.js';
import { createRedisRecordStore } from './record-store.js';
import { createRequestRecorder } from './recorder.js';
import type { RequestRecord } from './request-record.js';

const TOTAL = 1_000_000;
const ROOTS = ['Query.customers', 'Query.orders', 'Query.products', 'Query.product', 'Query.dashboard', 'Query.viewer', 'Query.usage', 'Mutation.placeOrder'];

/** 1,000 tenants, 3 keys each, a per-IP limit on a third of them, 1 or 2 root fields, costs and sizes spread. */
function representative(i: number, at: number): RequestRecord {
  const tenant = (i * 7919) % 1000;
  return {
    at,
    tenantId: `tenant-${tenant}`,
    clientId: `tenant-${tenant}-key-${i % 3}`,
    ip: tenant % 3 === 0 ? `203.0.${(i >> 8) & 255}.${i & 255}` : null,
    planId: ['free', 'pro', 'enterprise', 'partner'][tenant % 4]!,
    rootFields: i % 4 === 0 ? [ROOTS[i % 8]!, ROOTS[(i + 3) % 8]!] : [ROOTS[i % 8]!],
    estimatedCost: 1 + ((i * 31) % 200),
    actualCost: (i * 17) % 150,
    responseBytes: 200 + ((i * 97) % 5000),
    throttledBy: i % 50 === 0 ? 'minute' : null,
  };
}

async function main(): Promise<void> {
  const url = process.argv[2];
  const perSecond = Number(process.argv[3] ?? 1000);
  if (!url) throw new Error('usage: npx tsx src/record/measure.ts redis://host:port [requestsPerSecond]');
  const redis = new Redis(url);
  await redis.flushall();
  const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const store = createRedisRecordStore(redis);
  const recorder = createRequestRecorder({ store, logger: createLogger({ level: 'silent' }), intervalMs: 3_600_000 });
  const t0 = Date.UTC(2026, 0, 1);
  let flushMs = 0;
  for (let i = 0; i < TOTAL; i++) {
    recorder.record(representative(i, t0 + Math.floor((i * 1000) / perSecond)));
    if ((i + 1) % perSecond === 0 || i === TOTAL - 1) {
      const start = performance.now();
      await recorder.flush();
      flushMs += performance.now() - start;
    }
  }
  const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const keys = await redis.dbsize();
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
  console.log(`redis memory: ${mib.toFixed(1)} MiB per million requests (${((after - before) / TOTAL).toFixed(1)} B per request)`);
  console.log(`encode + write: ${(flushMs / 1000).toFixed(2)} s in all, ${((flushMs * 1000) / TOTAL).toFixed(2)} µs per request`);
  console.log(`read: ${read} records in ${(readMs / 1000).toFixed(2)} s = ${Math.round((read / readMs) * 60_000).toLocaleString('en')} per minute`);
  redis.disconnect();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
