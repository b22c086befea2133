import type { GraphQLSchema } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { apiKey, createTestCache, run, testSchema, type TestCache } from './support.js';

/**
 * The README's freshness guarantee when the cache store fails: no value read before a mutation is
 * served after the mutation returns, even when its invalidation could not reach Redis, and even
 * when a later read of the tag token failed. The store is a real redis-server, stopped (SIGSTOP:
 * connections open, no answers) to make cache calls time out; the "downstream" is a variable the
 * resolvers read and the mutation writes.
 */
const TYPE_DEFS = /* GraphQL */ `
  type Query {
    item(id: ID!): Item @cached(ttl: 60)
  }
  type Mutation {
    setItem(id: ID!, value: Int!): Item @invalidates(tags: ["Item:{id}"])
  }
  type Item {
    id: ID!
    value: Int!
  }
`;

let redis: TestRedis;
/** A connection of the test's own, to reconfigure the server. */
let admin: Redis;
let cache: TestCache;
let schema: GraphQLSchema;
/** The downstream value of item "it_1", and how often it was read. */
let stored: number;
let reads: number;
/** While set, the first downstream read waits for it after reading (a slow downstream answer). */
let gate: Promise<void> | null;

const resolvers = {
  Query: {
    item: async (_: unknown, { id }: { id: string }) => {
      reads++;
      const value = stored;
      if (reads === 1 && gate) await gate;
      return { id, value };
    },
  },
  Mutation: {
    setItem: (_: unknown, { id, value }: { id: string; value: number }) => {
      stored = value;
      return { id, value };
    },
  },
};

const principal = apiKey('globex', 'admin');
const READ = '{ item(id: "it_1") { value } }';
const read = () => run(schema, cache.fieldCache, principal, READ);
const write = (value: number) => run(schema, cache.fieldCache, principal, 'mutation($v: Int!) { setItem(id: "it_1", value: $v) { id } }', { v: value });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withCache(patch: Parameters<typeof createTestCache>[1]) {
  await admin.flushall();
  cache = createTestCache(redis.url, patch);
  schema = await testSchema(TYPE_DEFS, resolvers, cache.fieldCache);
  // The client connects in the background: wait until a write really lands (a first read-and-store).
  for (let i = 0; i < 50; i++) {
    if ((await read()).report?.fields.item === 'HIT') break;
    await sleep(20);
  }
  reads = 0;
}

beforeAll(async () => {
  redis = await startTestRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
  await redis.stop();
});
let stopped = false;
const stop = () => {
  redis.signal('SIGSTOP');
  stopped = true;
};
const resume = () => {
  if (stopped) redis.signal('SIGCONT');
  stopped = false;
};
afterEach(async () => {
  resume();
  await admin.config('SET', 'maxmemory', '0');
  await cache?.close();
});

describe('freshness when the cache store fails', () => {
  it('an invalidation Redis refused: while its reads still answer, the old entry is not served; once a retry lands, caching resumes', async () => {
    stored = 1;
    gate = null;
    await withCache({});
    expect((await read()).report?.fields.item).toBe('HIT');

    // Redis is full (noeviction): it refuses every write with OOM and still answers reads.
    await admin.config('SET', 'maxmemory', '1');
    const mutation = await write(2);
    expect(mutation.errors).toBeUndefined();
    expect(mutation.report?.degraded).toBe(true);
    // The old entry and its old token are still in Redis and would match: never served.
    for (let i = 0; i < 5; i++) {
      const after = await read();
      expect(after.data.item.value).toBe(2);
      expect(after.report).toMatchObject({ hits: 0, misses: 1, degraded: true });
    }
    expect(await admin.dbsize()).toBeGreaterThan(0);

    // Redis takes writes again: the invalidation is retried in the background (within 2 s), and
    // the tag is cached again once it landed.
    await admin.config('SET', 'maxmemory', '0');
    let last = await read();
    for (let i = 0; i < 60 && last.report?.fields.item !== 'HIT'; i++) {
      await sleep(50);
      last = await read();
    }
    expect(last.report?.fields.item).toBe('HIT');
    expect(last.data.item.value).toBe(2);
  });

  it('an invalidation that could not reach Redis: the old entry is never served, and caching resumes once the invalidation lands', async () => {
    stored = 1;
    gate = null;
    // One failure opens the breaker; a trial call 300 ms later.
    await withCache({ breakerFailures: 1, breakerHalfOpenMs: 300 });
    expect((await read()).data.item.value).toBe(1);

    // Redis stalls: a read times out and opens the breaker, so the invalidation is never sent.
    stop();
    await read();
    const mutation = await write(2);
    expect(mutation.errors).toBeUndefined();
    expect(mutation.report?.degraded).toBe(true);
    resume();

    // Redis answers again and the breaker lets calls through: the old entry (value 1, under the
    // token the invalidation should have replaced) is still there, and must not be served.
    await sleep(400);
    const after = await read();
    expect(after.data.item.value).toBe(2);
    // Once the invalidation has landed (retried in the background), the value is cached again.
    let last = after;
    for (let i = 0; i < 50 && last.report?.fields.item !== 'HIT'; i++) {
      await sleep(50);
      last = await read();
    }
    expect(last.report?.fields.item).toBe('HIT');
    expect(last.data.item.value).toBe(2);
  });

  it('a read whose token read timed out after a mutation never joins a downstream call that started before it', async () => {
    stored = 1;
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    await withCache({ breakerFailures: 10 });
    await write(1); // a new token: the entry stored by withCache() is a miss now

    // A miss reads value 1 downstream, which answers slowly.
    const early = read();
    while (reads < 1) await sleep(5);
    // The mutation lands, and so does its invalidation (Redis is healthy).
    const mutation = await write(2);
    expect(mutation.report?.degraded).toBeUndefined();

    // After the mutation returned, a read whose cache calls time out (Redis stalled).
    stop();
    const late = read();
    await sleep(200);
    release();
    resume();
    const [first, second] = await Promise.all([early, late]);
    expect(first.data.item.value).toBe(1); // started before the mutation: the race every cache has
    expect(second.report?.degraded).toBe(true);
    expect(second.data.item.value).toBe(2);
  });
});
