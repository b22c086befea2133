import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import type { LeaseEvent } from '../../src/record/lease-event.js';
import { readMinutes, readRecords } from '../../src/record/reader.js';
import { createMemoryRecordStore, createRedisRecordStore, recordKey, type RecordStore } from '../../src/record/record-store.js';
import { createRequestRecorder } from '../../src/record/recorder.js';
import { decodeBlock, encodeBlock, type RequestRecord } from '../../src/record/request-record.js';
import { flushKeepingEpoch, useTestRedis } from '../support/redis-server.js';

const logger = createLogger({ level: 'silent' });
const T0 = Date.UTC(2026, 11, 5, 22, 0, 0);

function recordAt(at: number, i: number): RequestRecord {
  return {
    at,
    tenantId: i % 3 === 0 ? 'acme' : 'globex',
    clientId: `key-${i % 5}`,
    ip: i % 4 === 0 ? `10.0.0.${i % 250}` : i % 7 === 0 ? '2001:db8::1' : null,
    planId: i % 3 === 0 ? 'free' : 'pro',
    rootFields: i % 2 === 0 ? ['Query.customers'] : ['Query.orders', 'Query.product'],
    estimatedCost: (i % 40) + 0.5,
    actualCost: i % 33,
    responseBytes: 100 + i,
    throttledBy: i % 11 === 0 ? 'minute' : null,
    ...(i % 6 === 0 ? {} : { operation: i % 2 === 0 ? 'Xq3v0bC1-_a' : `Xq3v0bC1-_a.v${i % 9}yZ8w2kLm` }),
  };
}

async function readAll(store: RecordStore, from: number, to: number): Promise<{ records: RequestRecord[]; batches: number }> {
  const records: RequestRecord[] = [];
  let batches = 0;
  for await (const batch of readRecords(store, { from, to })) {
    batches += 1;
    records.push(...batch);
  }
  return { records, batches };
}

const redis = useTestRedis();

describe.each([
  ['Redis', () => createRedisRecordStore(redis.client)],
  ['memory', () => createMemoryRecordStore()],
] as const)('request record (%s store)', (_name, makeStore) => {
  it('gives back what two instances recorded over three minutes, in time order, field for field', async () => {
    await flushKeepingEpoch(redis.client);
    const store = makeStore();
    const a = createRequestRecorder({ store, logger });
    const b = createRequestRecorder({ store, logger });
    const all: RequestRecord[] = [];
    // Instance a takes even milliseconds, b odd ones; each flushes every 20 s of request time.
    for (let i = 0; i < 3000; i++) {
      const record = recordAt(T0 + i * 60, i);
      all.push(record);
      (i % 2 === 0 ? a : b).record(record);
      if (i % 333 === 0) await Promise.all([a.flush(), b.flush()]);
    }
    await Promise.all([a.close(), b.close()]);
    expect(a.stats()).toMatchObject({ written: 1500, dropped: 0, buffered: 0 });

    const { records, batches } = await readAll(store, T0, T0 + 3 * 60_000);
    expect(batches).toBe(3);
    expect(records).toEqual(all);
  });

  it('reads only the range asked for, to the millisecond', async () => {
    await flushKeepingEpoch(redis.client);
    const store = makeStore();
    const recorder = createRequestRecorder({ store, logger });
    for (let i = 0; i < 200; i++) recorder.record(recordAt(T0 + i * 1000, i));
    await recorder.close();
    const { records } = await readAll(store, T0 + 30_500, T0 + 90_000);
    expect(records.map((r) => r.at)).toEqual(Array.from({ length: 59 }, (_, i) => T0 + 31_000 + i * 1000));
  });

  it('drops and counts past its bound instead of growing', async () => {
    await flushKeepingEpoch(redis.client);
    const store = makeStore();
    const recorder = createRequestRecorder({ store, logger, maxBuffered: 100 });
    for (let i = 0; i < 150; i++) recorder.record(recordAt(T0 + i, i));
    expect(recorder.stats()).toMatchObject({ buffered: 100, dropped: 50 });
    await recorder.close();
    expect((await readAll(store, T0, T0 + 60_000)).records).toHaveLength(100);
  });
});

describe('request record in Redis', () => {
  it('one stream per minute with a TTL; a Redis outage keeps the records for the next flush', async () => {
    await flushKeepingEpoch(redis.client);
    const store = createRedisRecordStore(redis.client, { retentionMs: 3_600_000 });
    // Only the flushes the test makes: no timer flush between the restart and the reads.
    const recorder = createRequestRecorder({ store, logger, intervalMs: 3_600_000 });
    recorder.record(recordAt(T0 + 5, 1));
    await recorder.flush();
    const key = recordKey(Math.floor(T0 / 60_000));
    expect(await redis.client.type(key)).toBe('stream');
    expect(await redis.client.pttl(key)).toBeGreaterThan(3_500_000);

    await redis.server.kill();
    recorder.record(recordAt(T0 + 6, 2));
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ failedFlushes: 1, buffered: 1, dropped: 0 });
    // The restarted server is empty: the record written before the outage is gone with it.
    await redis.server.restart();
    recorder.record(recordAt(T0 + 7, 3));
    await recorder.close();
    const { records } = await readAll(store, T0, T0 + 60_000);
    expect(records.map((r) => r.at)).toEqual([T0 + 6, T0 + 7]);
  }, 30_000);
});

describe('request record blocks', () => {
  it('keep the store times of the decision and the settle, the local fallback mark and the operation key; earlier formats still read', () => {
    const records: RequestRecord[] = [
      { ...recordAt(T0, 1), decidedAt: T0 + 3, settledAt: T0 + 412 },
      { ...recordAt(T0 + 5, 2), decidedAt: T0 + 5, decidedLocally: true },
      recordAt(T0 + 9, 3),
    ];
    const out: RequestRecord[] = [];
    decodeBlock(encodeBlock(records), out);
    expect(out).toEqual(records);

    // A block written before the store times were recorded: ten fields, no times.
    const v1 = deflateRawSync(`v1 ${T0}\n7\tacme\tkey-1\t\tfree\tQuery.customers\t2.5\t2\t300\tminute`);
    const old: RequestRecord[] = [];
    decodeBlock(v1, old);
    expect(old).toEqual([
      {
        at: T0 + 7,
        tenantId: 'acme',
        clientId: 'key-1',
        ip: null,
        planId: 'free',
        rootFields: ['Query.customers'],
        estimatedCost: 2.5,
        actualCost: 2,
        responseBytes: 300,
        throttledBy: 'minute',
      },
    ]);
    // A block written before operation keys were: thirteen fields; its records name no operation.
    const v2 = deflateRawSync(`v2 ${T0}\n7\tacme\tkey-1\t\tfree\tQuery.customers\t2.5\t2\t300\t\t3\t410\t`);
    const second: RequestRecord[] = [];
    decodeBlock(v2, second);
    expect(second).toEqual([{ ...old[0], throttledBy: null, decidedAt: T0 + 10, settledAt: T0 + 417 }]);
    expect(() => decodeBlock(deflateRawSync(`v2 ${T0}\n7\tacme`), [])).toThrow('request record line has 2 fields, expected 13');
    expect(() => decodeBlock(deflateRawSync(`v3 ${T0}\n7\tacme`), [])).toThrow('request record line has 2 fields, expected 14');
    // A block written before store call numbers and lease events: fourteen fields, its records numbered none.
    const v3 = deflateRawSync(`v3 ${T0}\n7\tacme\tkey-1\t\tfree\tQuery.customers\t2.5\t2\t300\t\t3\t410\tl\tXq3v0bC1-_a`);
    const third: RequestRecord[] = [];
    decodeBlock(v3, third);
    expect(third).toEqual([{ ...second[0], decidedLocally: true, operation: 'Xq3v0bC1-_a' }]);
    expect(() => decodeBlock(deflateRawSync(`v4 ${T0}\n7\tacme`), [])).toThrow('request record line has 2 fields, expected 17');
    expect(() => decodeBlock(deflateRawSync(`v4 ${T0}\ng\t7\tacme`), [])).toThrow('lease event line has 3 fields, expected 8');
  });

  it('keep each store call number (of the decision, of the settle, of the lease), the dropped burst zones and the lease events of the minute', () => {
    const records: RequestRecord[] = [
      { ...recordAt(T0 + 2, 1), decidedAt: T0 + 3, seq: 1041, settledAt: T0 + 412, settleSeq: 1077, leaseSeq: 1041 },
      { ...recordAt(T0 + 4, 2), decidedAt: T0 + 5, leaseSeq: 1041, settledAt: T0 + 900, settleSeq: 1102 },
      { ...recordAt(T0 + 6, 3), decidedAt: T0 + 6, seq: 1043, burstsDropped: true },
      { ...recordAt(T0 + 8, 4), decidedAt: T0 + 9, seq: 7, decidedLocally: true },
    ];
    const events: LeaseEvent[] = [
      { kind: 'grant', tenantId: 'globex', at: T0 + 1, seq: 1041, chargedAt: T0 + 1001, granted: 5, bytesPerRequest: 0, renews: null },
      { kind: 'grant', tenantId: 'globex', at: T0 + 40, seq: 1060, chargedAt: T0 + 1040, granted: 3, bytesPerRequest: 420, renews: 1041 },
      { kind: 'settle', tenantId: 'globex', at: T0 + 1500, seq: 1110, lease: 1041, tokens: 2, bytesRefunded: 840, bytesAdded: 0 },
    ];
    const out: RequestRecord[] = [];
    const outEvents: LeaseEvent[] = [];
    decodeBlock(encodeBlock(records, events), out, outEvents);
    expect(out).toEqual(records);
    expect(outEvents).toEqual(events);
    // A block of lease events alone (a minute in which only refunds landed).
    const alone: LeaseEvent[] = [];
    decodeBlock(encodeBlock([], events.slice(2)), [], alone);
    expect(alone).toEqual(events.slice(2));
  });
});

describe('the lease events of a recorder', () => {
  it('are written with the records of their minute and read back with them', async () => {
    const store = createMemoryRecordStore();
    const recorder = createRequestRecorder({ store, logger });
    const grant: LeaseEvent = {
      kind: 'grant',
      tenantId: 'globex',
      at: T0 + 59_990,
      seq: 3,
      chargedAt: T0 + 60_990,
      granted: 4,
      bytesPerRequest: 0,
      renews: null,
    };
    const refund: LeaseEvent = { kind: 'settle', tenantId: 'globex', at: T0 + 61_500, seq: 9, lease: 3, tokens: 1, bytesRefunded: 0, bytesAdded: 0 };
    recorder.record(recordAt(T0 + 59_989, 1));
    recorder.event(grant);
    recorder.event(refund);
    await recorder.close();
    const minutes = [];
    for await (const minute of readMinutes(store, { from: T0, to: T0 + 120_000 })) minutes.push(minute);
    expect(minutes).toEqual([
      { records: [recordAt(T0 + 59_989, 1)], events: [grant] },
      { records: [], events: [refund] },
    ]);
  });
});
