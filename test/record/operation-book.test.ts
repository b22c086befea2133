import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationBook, type OperationBookOptions } from '../../src/record/operation-book.js';
import { documentPartOf } from '../../src/record/operation-key.js';
import { createOperationReader } from '../../src/record/operation-reader.js';
import { createMemoryOperationStore, createRedisOperationStore, DAY_MS, operationsKey, type OperationStore } from '../../src/record/operation-store.js';
import type { RequestRecord } from '../../src/record/request-record.js';
import { flushKeepingEpoch, useTestRedis } from '../support/redis-server.js';

const logger = createLogger({ level: 'silent' });
const T0 = Date.UTC(2026, 11, 5, 22, 0, 0);
const ORDERS = 'query Orders($first: Int) { orders(first: $first) { nodes { id } } }';
const VIEWER = '{ viewer { clientId } }';

/** A record that names `operation`, at `at`: what the reader looks operations up by. */
function recordOf(operation: string | undefined, at = T0): RequestRecord {
  return {
    at,
    tenantId: 'acme',
    clientId: 'k',
    ip: null,
    planId: 'free',
    rootFields: [],
    estimatedCost: 1,
    actualCost: 1,
    responseBytes: 1,
    throttledBy: null,
    ...(operation ? { operation } : {}),
  };
}

function bookOn(store: OperationStore, options: Partial<OperationBookOptions> = {}) {
  return createOperationBook({ store, logger, retentionMs: 8 * DAY_MS, intervalMs: 3_600_000, ...options });
}

/** What one request priced, as the request path hands it to the book, and its key. */
function keyOf(book: ReturnType<typeof bookOn>, text: string, document = parse(text), variables?: Record<string, unknown>, name?: string, at = T0) {
  const state = {};
  book.priced(state, { document, operationName: name, variables });
  return book.keyOf(state, at);
}

const redis = useTestRedis();

describe.each([
  ['Redis', () => createRedisOperationStore(redis.client)],
  ['memory', () => createMemoryOperationStore({ now: () => T0 })],
] as const)('operation book (%s store)', (_name, makeStore) => {
  it('names each operation by its text, name and variables, and gives them back to a replay', async () => {
    await flushKeepingEpoch(redis.client);
    const store = makeStore();
    const a = bookOn(store);
    const b = bookOn(store);
    const orders = parse(ORDERS);
    const ten = keyOf(a, ORDERS, orders, { first: 10 }, 'Orders');
    // Another instance, its own parse of the same text: the same key.
    expect(keyOf(b, ORDERS, parse(ORDERS), { first: 10 }, 'Orders')).toBe(ten);
    const twenty = keyOf(a, ORDERS, orders, { first: 20 }, 'Orders');
    expect(twenty).not.toBe(ten);
    expect(documentPartOf(twenty!)).toBe(documentPartOf(ten!));
    const viewer = keyOf(a, VIEWER);
    // No variables: the key is the document part alone.
    expect(viewer).toMatch(/^[\w-]{11}$/);
    expect(ten).toMatch(/^[\w-]{11}\.[\w-]{11}$/);
    // A state nothing was priced for (refused at the door) has no key.
    expect(a.keyOf({}, T0)).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
    // a: the Orders text once, two variable sets, the viewer text; b: the text and its variable set again.
    expect(a.stats()).toEqual({ written: 4, notKept: 0, failed: 0 });
    expect(b.stats()).toEqual({ written: 2, notKept: 0, failed: 0 });

    const reader = createOperationReader(store);
    await reader.load([recordOf(ten), recordOf(twenty), recordOf(viewer), recordOf(undefined)]);
    expect(reader.get(ten!)).toEqual({ name: 'Orders', text: ORDERS, variables: '{"first":10}' });
    expect(reader.get(twenty!)).toEqual({ name: 'Orders', text: ORDERS, variables: '{"first":20}' });
    expect(reader.get(viewer!)).toEqual({ name: null, text: VIEWER, variables: '{}' });
    // Looked up in the day of the request that ran it: another day's replay does not find it there.
    const later = createOperationReader(store);
    await later.load([recordOf(ten, T0 + 3 * DAY_MS)]);
    expect(later.get(ten!)).toBeNull();
  });

  it('keeps at most its bound per day and no overlong text, and counts the requests whose operation it did not keep', async () => {
    await flushKeepingEpoch(redis.client);
    const store = makeStore();
    const book = bookOn(store, { maxEntriesPerDay: 3, maxTextChars: 200 });
    const orders = parse(ORDERS);
    const keys = [1, 2, 3, 4].map((first) => keyOf(book, ORDERS, orders, { first }, 'Orders')!);
    const long = `{ viewer { clientId } }${' '.repeat(300)}`;
    const longKey = keyOf(book, long, parse(long), undefined, undefined, T0 + DAY_MS);
    // The next day starts a new bound.
    const nextDay = keyOf(book, ORDERS, orders, { first: 4 }, 'Orders', T0 + DAY_MS)!;
    expect(nextDay).toBe(keys[3]);
    await book.close();
    // Day one: the text and two variable sets; the third and fourth sets are over the bound. The long text is not kept.
    expect(book.stats()).toEqual({ written: 5, notKept: 3, failed: 0 });
    const reader = createOperationReader(store);
    await reader.load([...keys.map((k) => recordOf(k)), recordOf(longKey, T0 + DAY_MS)]);
    expect(keys.map((k) => reader.get(k) !== null)).toEqual([true, true, false, false]);
    expect(reader.get(longKey!)).toBeNull();
    const next = createOperationReader(store);
    await next.load([recordOf(nextDay, T0 + DAY_MS)]);
    expect(next.get(nextDay)).toMatchObject({ variables: '{"first":4}' });
  });
});

describe('operation book in Redis', () => {
  it('one hash per UTC day, expiring with the record of its last minute', async () => {
    await flushKeepingEpoch(redis.client);
    const book = bookOn(createRedisOperationStore(redis.client), { retentionMs: 3_600_000 });
    const now = Date.now();
    keyOf(book, VIEWER, parse(VIEWER), undefined, undefined, now);
    await book.close();
    const day = Math.floor(now / DAY_MS);
    expect(await redis.client.hkeys(operationsKey(day))).toHaveLength(1);
    const ttl = await redis.client.pttl(operationsKey(day));
    expect(ttl).toBeGreaterThan((day + 1) * DAY_MS + 3_600_000 - now - 5000);
    expect(ttl).toBeLessThanOrEqual((day + 1) * DAY_MS + 3_600_000 - now);
  });
});
