import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/observability/logger.js';
import { createMemoryUsageStore } from '../../src/usage/memory-usage-store.js';
import { createMeter } from '../../src/usage/meter.js';
import type { AggregateBatch, UsageStore } from '../../src/usage/store.js';
import { DAY, MINUTE, T0, event, silent } from './helpers.js';

/** A logger that keeps its warn/error lines. */
function recordingLogger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const log = (level: string) => (fields: unknown, msg?: string) =>
    lines.push({ level, msg: msg ?? String(fields), fields: typeof fields === 'object' && fields ? (fields as Record<string, unknown>) : {} });
  const logger = { warn: log('warn'), error: log('error'), info: log('info'), debug: log('debug') } as unknown as Logger;
  return { logger, lines };
}

/** A memory store whose writes fail while `down` is set, counting write calls. */
function flakyStore(now = () => T0) {
  const inner = createMemoryUsageStore({ now });
  const state = { down: false, writes: 0, batches: [] as AggregateBatch[], gate: null as Promise<void> | null };
  const store: UsageStore = {
    ...inner,
    async write(batch) {
      state.writes += 1;
      state.batches.push(batch);
      if (state.gate) await state.gate;
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      return inner.write(batch);
    },
  };
  return { store, state };
}

const dayTotal = async (store: UsageStore, tenantId = 'acme') => (await store.history({ tenantId, granularity: 'day', from: T0, to: T0 }))[0]!;

describe('meter', () => {
  it('aggregates: 1,000 events of one tenant in one second become one aggregate per client, written in one store call', async () => {
    const { store, state } = flakyStore();
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
    // Two aliases of one root field are one field of the request.
    for (let i = 0; i < 1000; i++) meter.record(event({ at: T0 + i, clientId: `key-${i % 2}`, rootFields: ['Query.customers', 'Query.customers'] }));
    // record() does no I/O: nothing reached the store yet.
    expect(state.writes).toBe(0);
    expect(meter.stats().buffered).toBe(4); // 2 clients x (1 aggregate + 1 root field)
    await meter.flush();
    expect(state.writes).toBe(1);
    expect(state.batches[0]!.map((a) => [a.clientId, a.counters.requests])).toEqual([
      ['key-0', 500],
      ['key-1', 500],
    ]);
    expect((await dayTotal(store)).requests).toBe(1000);
    expect((await store.history({ tenantId: 'acme', granularity: 'day', from: T0, to: T0, rootField: 'Query.customers' }))[0]!.requests).toBe(1000);
    expect(meter.stats()).toMatchObject({ buffered: 0, failedFlushes: 0, droppedEvents: 0 });
    expect(meter.stats().lastFlushLagMs).toBeGreaterThanOrEqual(0);
    await meter.close();
  });

  it('drops and counts events past maxBufferedKeys, logging once per flush, and keeps aggregating the ones it holds', async () => {
    const { logger, lines } = recordingLogger();
    const store = createMemoryUsageStore({ now: () => T0 });
    const meter = createMeter({ store, logger, intervalMs: 3_600_000, maxBufferedKeys: 5 });
    meter.record(event({ clientId: 'a', rootFields: ['Query.customers'] })); // 2 keys
    meter.record(event({ clientId: 'b', rootFields: ['Query.customers'] })); // 4 keys
    meter.record(event({ clientId: 'c', rootFields: ['Query.customers'] })); // would be 6: dropped
    meter.record(event({ clientId: 'a', rootFields: ['Query.customers', 'Query.product'] })); // 5 keys
    meter.record(event({ clientId: 'd', rootFields: [] })); // would be 6: dropped
    for (let i = 0; i < 100; i++) meter.record(event({ clientId: 'b', rootFields: ['Query.customers'] })); // existing keys: kept
    expect(meter.stats()).toMatchObject({ buffered: 5, droppedEvents: 2 });
    expect(lines).toEqual([]);
    await meter.flush();
    await meter.flush();
    const dropped = lines.filter((line) => line.msg === 'usage events dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.fields).toMatchObject({ full: 2, invalid: 0, maxBufferedKeys: 5, droppedEvents: 2 });
    expect((await dayTotal(store)).requests).toBe(103);
    // After the flush the buffer has room again.
    meter.record(event({ clientId: 'c' }));
    expect(meter.stats()).toMatchObject({ buffered: 2, droppedEvents: 2 });
    await meter.close();
  });

  it("keeps a failed flush's aggregates, merges new events into them, and writes exact sums once the store is back", async () => {
    const { logger, lines } = recordingLogger();
    const { store, state } = flakyStore();
    const meter = createMeter({ store, logger, intervalMs: 3_600_000 });
    state.down = true;
    for (let i = 0; i < 10; i++) meter.record(event({ requestedCost: 0.5, rootFields: ['Query.customers'] }));
    await expect(meter.flush()).resolves.toBeUndefined();
    expect(meter.stats()).toMatchObject({ buffered: 2, failedFlushes: 1, droppedEvents: 0, lastFlushAt: null, lastFlushLagMs: null });
    expect(lines.find((line) => line.msg === 'usage flush failed; kept for the next flush')?.fields).toMatchObject({
      err: 'connect ECONNREFUSED 127.0.0.1:6379',
      kept: 1,
    });
    for (let i = 0; i < 5; i++) meter.record(event({ requestedCost: 0.5, rootFields: ['Query.customers'] }));
    expect(meter.stats().buffered).toBe(2); // merged into the same aggregate
    await meter.flush();
    state.down = false;
    await meter.flush();
    expect(meter.stats()).toMatchObject({ buffered: 0, failedFlushes: 2, droppedEvents: 0 });
    expect(meter.stats().lastFlushAt).not.toBeNull();
    expect(await dayTotal(store)).toMatchObject({ requests: 15, requestedCost: 7.5 });
    const fields = await store.breakdown({ tenantId: 'acme', granularity: 'day', from: T0, to: T0, by: 'rootField' });
    expect(fields.map((f) => [f.key, f.totals.requests])).toEqual([['Query.customers', 15]]);
    await meter.close();
  });

  it('drops, and counts, retried aggregates that no longer fit the bound, whole (sums never half-kept)', async () => {
    const { store, state } = flakyStore();
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000, maxBufferedKeys: 4 });
    for (let i = 0; i < 7; i++) meter.record(event({ clientId: 'old', rootFields: ['Query.customers'] }));
    state.down = true;
    let open = () => {};
    state.gate = new Promise<void>((resolve) => (open = resolve));
    const failing = meter.flush();
    await new Promise((r) => setTimeout(r, 0));
    expect(state.writes).toBe(1);
    // While the write is in flight, new traffic fills the buffer.
    meter.record(event({ clientId: 'new-1', rootFields: ['Query.customers'] }));
    meter.record(event({ clientId: 'new-2', rootFields: ['Query.customers'] }));
    open();
    state.gate = null;
    await failing;
    expect(meter.stats()).toMatchObject({ buffered: 4, failedFlushes: 1, droppedEvents: 7 });
    state.down = false;
    await meter.close();
    expect((await dayTotal(store)).requests).toBe(2);
    const clients = await store.breakdown({ tenantId: 'acme', granularity: 'day', from: T0, to: T0, by: 'client' });
    expect(clients.map((c) => c.key)).toEqual(['new-1', 'new-2']);
  });

  it('never throws from record() or flush(): invalid events are dropped and counted, a throwing store is logged', async () => {
    const { logger, lines } = recordingLogger();
    const broken: UsageStore = {
      ...createMemoryUsageStore(),
      write: () => {
        throw new TypeError('store bug');
      },
    };
    const meter = createMeter({ store: broken, logger, intervalMs: 3_600_000 });
    expect(() => meter.record(event({ tenantId: 'a{b}' }))).not.toThrow();
    expect(() => meter.record(event({ tenantId: '_fleet' }))).not.toThrow();
    expect(() => meter.record(event({ at: Number.NaN }))).not.toThrow();
    expect(() => meter.record(event({ clientId: 'has space' }))).not.toThrow();
    expect(() => meter.record(null as never)).not.toThrow();
    meter.record(event({ rootFields: ['not a field', 'Query.ok'] })); // kept; the odd root field is not stored
    expect(meter.stats()).toMatchObject({ droppedEvents: 5, buffered: 2 });
    await expect(meter.flush()).resolves.toBeUndefined();
    expect(meter.stats().failedFlushes).toBe(1);
    expect(lines.map((line) => line.msg)).toContain('usage flush failed; kept for the next flush');
    await meter.close();
  });

  it('checks its options, naming the bad value', () => {
    const store = createMemoryUsageStore();
    expect(() => createMeter({ store, logger: silent, intervalMs: 0 })).toThrow('intervalMs must be a positive integer: 0');
    expect(() => createMeter({ store, logger: silent, maxBufferedKeys: 1.5 })).toThrow('maxBufferedKeys must be a positive integer: 1.5');
  });

  it('reports flush lag: how long the oldest event waited before its write landed', async () => {
    const { store, state } = flakyStore();
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
    state.down = true;
    meter.record(event());
    await meter.flush();
    await new Promise((r) => setTimeout(r, 60));
    state.down = false;
    await meter.flush();
    expect(meter.stats().lastFlushLagMs).toBeGreaterThanOrEqual(50);
    await meter.flush(); // nothing waiting
    expect(meter.stats().lastFlushLagMs).toBe(0);
    await meter.close();
  });
});

describe('memory store bounds', () => {
  it('expires buckets by their retention on its clock: minute after 30 days, day and month kept', async () => {
    const clock = { t: T0 };
    const store = createMemoryUsageStore({ now: () => clock.t });
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
    meter.record(event());
    await meter.close();
    const read = (granularity: 'minute' | 'hour' | 'day' | 'month') =>
      store.history({ tenantId: 'acme', granularity, from: T0, to: T0 }).then((points) => points[0]!.requests);
    clock.t = T0 + 30 * DAY - MINUTE;
    expect(await read('minute')).toBe(1);
    clock.t = T0 + 30 * DAY + MINUTE;
    await expect(read('minute')).rejects.toThrow('minute buckets are kept 30 days');
    expect(await read('hour')).toBe(1);
    clock.t = T0 + 400 * DAY;
    expect(await read('day')).toBe(1);
    expect(await read('month')).toBe(1);
  });

  it('holds at most maxKeys hashes, dropping the least recently written first', async () => {
    const store = createMemoryUsageStore({ now: () => T0, maxKeys: 200 });
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
    for (let m = 0; m < 60; m++) {
      meter.record(event({ at: T0 - (60 - m) * MINUTE }));
      await meter.flush();
    }
    expect(store.size).toBe(200);
    const minutes = await store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 60 * MINUTE, to: T0 - MINUTE });
    const kept = minutes.map((p) => p.requests);
    expect(kept.at(-1)).toBe(1); // the newest minute is there
    expect(kept[0]).toBe(0); // the oldest was evicted
    // Rollups written every flush survive: the day still counts all 60.
    expect((await dayTotal(store)).requests).toBe(60);
    await meter.close();
  });
});
