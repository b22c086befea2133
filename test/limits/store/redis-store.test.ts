import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { calendarPeriod } from '../../../src/limits/store/calendar.js';
import { createRedisLimitStore, createRedisLimitStoreForTests } from '../../../src/limits/store/redis-store.js';
import { useTestRedis } from '../../support/redis-server.js';
import { admittedBetween, calendar, fakeClock, freshPrefix, maxInAnyWindow, prng, sliding, type Admission } from './helpers.js';

const local = useTestRedis();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Names of the commands a client sends (one entry per request put on the wire). */
function recordCommands(client: Redis): string[] {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  return sent;
}

/** `INFO commandstats` as { command: calls }. */
async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d !== 0) changed[name] = d;
  }
  return changed;
}

describe('redis store on the Redis clock', () => {
  it('uses Redis TIME as the clock', async () => {
    const store = createRedisLimitStore({ redis: local.client });
    const [beforeSec, beforeMicro] = await local.client.time();
    const decision = await store.consume([sliding(`${freshPrefix()}:rpm`)]);
    const [afterSec, afterMicro] = await local.client.time();
    expect(decision.now).toBeGreaterThanOrEqual(Number(beforeSec) * 1000 + Math.floor(Number(beforeMicro) / 1000));
    expect(decision.now).toBeLessThanOrEqual(Number(afterSec) * 1000 + Math.floor(Number(afterMicro) / 1000));
    expect(Number.isInteger(decision.now)).toBe(true);
  });

  it('never admits more than the limit in any rolling 1 s window, across two clients, in real time', async () => {
    const other = new Redis(local.server.url);
    try {
      const stores = [createRedisLimitStore({ redis: local.client }), createRedisLimitStore({ redis: other })];
      const windowMs = 1000;
      const buckets = 10;
      const limit = 5;
      const dim = sliding(`${freshPrefix()}:rolling`, { name: 'rolling', limit, windowMs, buckets });
      const admitted: Admission[] = [];
      const refused: Admission[] = [];
      const random = prng(7);
      const fire = async (store: (typeof stores)[number]) => {
        const until = Date.now() + 3500;
        while (Date.now() < until) {
          const decision = await store.consume([dim]);
          (decision.allowed ? admitted : refused).push({ at: decision.now, amount: 1 });
          await sleep(Math.floor(random() * 25));
        }
      };
      await Promise.all([fire(stores[0]!), fire(stores[1]!), fire(stores[0]!), fire(stores[1]!)]);

      expect(refused.length).toBeGreaterThan(admitted.length); // demand well above the limit
      expect(maxInAnyWindow(admitted, windowMs)).toBeLessThanOrEqual(limit);
      for (const r of refused) {
        expect(admittedBetween(admitted, r.at - windowMs - windowMs / buckets, r.at) + r.amount).toBeGreaterThan(limit);
      }
      // 3.5 s at ~N/(N+1) of 5 per second.
      expect(admitted.length).toBeGreaterThanOrEqual(14);
    } finally {
      other.disconnect();
    }
  });

  it('admits exactly 100 of 400 concurrent calls from 4 gateway instances', async () => {
    const clients = Array.from({ length: 4 }, () => new Redis(local.server.url));
    try {
      const stores = clients.map((client) => createRedisLimitStore({ redis: client }));
      const tag = freshPrefix(); // one hash tag for every key of a check, as the gateway will
      const dims = [sliding(`${tag}:tenant`, { name: 'tenant', limit: 100 }), calendar(`${tag}:day`, { name: 'day', limit: 1000 })];
      const decisions = await Promise.all(Array.from({ length: 400 }, (_, i) => stores[i % 4]!.consume(dims)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
      const usage = await stores[0]!.peek(dims);
      expect(usage.results.map((r) => r.used)).toEqual([100, 100]); // the day quota charged only for admitted ones
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('makes one round trip per consume: one EVALSHA/EVAL, no other command from the client', async () => {
    const client = new Redis(local.server.url);
    const admin = new Redis(local.server.url);
    try {
      const store = createRedisLimitStore({ redis: client });
      const tag = freshPrefix();
      const dims = [
        sliding(`${tag}:tenant`, { name: 'tenant', limit: 100 }),
        sliding(`${tag}:ip`, { name: 'ip', limit: 100, windowMs: 1000, buckets: 10 }),
        calendar(`${tag}:day`, { name: 'day', limit: 100 }),
      ];
      await store.consume(dims); // the first call on a connection is an EVAL
      const sent = recordCommands(client);
      const before = await commandCalls(admin);
      for (let i = 0; i < 5; i++) await store.consume(dims);
      await store.peek(dims);
      const after = await commandCalls(admin);

      expect(sent).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha']);
      const changed = delta(before, after);
      expect(changed.evalsha).toBe(6);
      expect(changed.eval).toBeUndefined();
      // What else Redis counted ran inside the script: one TIME and one INCR of the tag's call
      // counter per call (with its PEXPIRE), hash reads and writes.
      expect(changed.time).toBe(6);
      expect(changed.incr).toBe(6);
      const fromScript = new Set(['evalsha', 'time', 'incr', 'hmget', 'hget', 'hgetall', 'hincrby', 'hdel', 'hset', 'del', 'pexpire', 'info']);
      expect(Object.keys(changed).filter((name) => !fromScript.has(name))).toEqual([]);
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });

  it('validates dimensions before any Redis call', async () => {
    const client = new Redis(local.server.url);
    try {
      await client.ping();
      const store = createRedisLimitStore({ redis: client });
      const sent = recordCommands(client);
      await expect(store.consume([sliding('k', { limit: -1 })])).rejects.toThrow('limit dimension "tenant-rpm": limit must be a non-negative integer: -1');
      await store.adjust([]);
      expect(sent).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('recovers from SCRIPT FLUSH without a NOSCRIPT error reaching the caller', async () => {
    const store = createRedisLimitStore({ redis: local.client });
    const dim = sliding(`${freshPrefix()}:rpm`, { limit: 10 });
    expect((await store.consume([dim])).results[0]!.used).toBe(1);
    await local.client.script('FLUSH');
    const sent = recordCommands(local.client);
    try {
      const decision = await store.consume([dim]);
      expect(decision.results[0]).toMatchObject({ allowed: true, used: 2 });
      // EVALSHA met NOSCRIPT and was resent as EVAL, which cached the script again.
      expect(sent).toEqual(['evalsha', 'evalsha']);
      const [cached] = (await local.client.script('EXISTS', sha1OfScript(local.client))) as number[];
      expect(cached).toBe(1);
    } finally {
      delete (local.client as { sendCommand?: unknown }).sendCommand; // back to the prototype's method
    }
  });

  it('keeps working after Redis is killed and restarted (empty, no script cache)', async () => {
    // The gateway's connection settings: fail fast while down, reconnect quickly.
    const client = new Redis(local.server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const store = createRedisLimitStore({ redis: client });
      const dim = sliding(`${freshPrefix()}:rpm`, { limit: 10 });
      expect((await store.consume([dim])).results[0]!.used).toBe(1);

      await local.server.kill();
      await expect(store.consume([dim])).rejects.toThrow(); // the caller falls back to memory
      await local.server.restart();
      await new Promise((resolve) => (client.status === 'ready' ? resolve(null) : client.once('ready', resolve)));

      const decision = await store.consume([dim]);
      expect(decision.results[0]).toMatchObject({ allowed: true, used: 1 }); // the restarted Redis is empty
    } finally {
      client.disconnect();
      await local.client.ping(); // the suite's shared client reconnected too
    }
  });

  it('keeps at most N+1 sub-buckets (and 3 fields more) per key, and the same memory for a limit of 10 and of 1,000,000', async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1));
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const tag = freshPrefix();
    const small = sliding(`${tag}:aaaaaaa`, { name: 'small', limit: 10, windowMs: 4000, buckets: 4 });
    const large = sliding(`${tag}:bbbbbbb`, { name: 'large', limit: 1_000_000, windowMs: 4000, buckets: 4 });
    /** Sub-bucket fields (numeric names), without the total, oldest and newest fields. */
    const subBuckets = async (key: string) =>
      Object.keys(await local.client.hgetall(key))
        .filter((name) => /^\d+$/.test(name))
        .sort();
    for (let i = 0; i < 50; i++) {
      const decision = await store.consume([small, large]);
      expect(decision.allowed).toBe(true);
      expect((await subBuckets(small.key)).length).toBeLessThanOrEqual(5);
      expect(await local.client.hlen(small.key)).toBeLessThanOrEqual(5 + 3);
      clock.advance(1000);
    }
    // Charges 1 s apart in a 4 s window: the last four sub-buckets count (the fifth's last charge
    // is exactly one window old and was deleted).
    expect(await subBuckets(small.key)).toHaveLength(4);
    expect(await subBuckets(large.key)).toHaveLength(4);
    expect(await local.client.hlen(large.key)).toBe(4 + 3);
    // 't' the total, 'o' the oldest sub-bucket with the offset of its last charge (its own field's).
    const oldest = (await subBuckets(large.key))[0]!;
    const oldestOffset = (await local.client.hget(large.key, oldest))!.split(':')[1];
    expect(await local.client.hmget(large.key, 't', 'o')).toEqual(['4', `${oldest}:${oldestOffset}`]);
    expect(await local.client.memory('USAGE', large.key)).toBe(await local.client.memory('USAGE', small.key));

    // Heavy traffic (5,000 requests' worth of cost per call) does not add fields either.
    for (let i = 0; i < 20; i++) {
      await store.consume([{ ...large, amount: 5000 }]);
      clock.advance(700);
    }
    expect((await subBuckets(large.key)).length).toBeLessThanOrEqual(5);
    expect(await local.client.hlen(large.key)).toBeLessThanOrEqual(5 + 3);
  });

  it('numbers every call of a hash tag (checks, peeks, adjustments alone) with one counter key in its slot, kept a minute past its last call', async () => {
    const store = createRedisLimitStore({ redis: local.client });
    const tag = freshPrefix();
    const other = freshPrefix();
    const dim = sliding(`${tag}:rpm`, { limit: 10 });
    const first = await store.consume([dim]);
    const second = await store.peek([dim], [{ dimension: dim, at: first.now, delta: -1 }]);
    const alone = await store.adjust([{ dimension: dim, at: first.now, delta: 1 }]);
    const elsewhere = await store.consume([sliding(`${other}:rpm`)]);
    const refused = await store.consume([sliding(`${tag}:none`, { limit: 0 }), dim]);
    expect([first.seq, second.seq, alone?.seq, refused.seq]).toEqual([1, 2, 3, 4]);
    expect(elsewhere.seq).toBe(1);
    expect(alone!.now).toBeGreaterThanOrEqual(first.now);
    expect(await store.adjust([])).toBeNull();
    // `rl:{<tag>}:seq`: the tag of the call's keys (freshPrefix is `rl:{...}`).
    const counter = `rl:{${tag.slice(4, -1)}}:seq`;
    expect(await local.client.get(counter)).toBe('4');
    const ttl = await local.client.pttl(counter);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('expires a sliding key (N + 1) * g after its last charge', async () => {
    const store = createRedisLimitStore({ redis: local.client });
    const dim = sliding(`${freshPrefix()}:rpm`, { windowMs: 600, buckets: 3 });
    await store.consume([dim]);
    const ttl = await local.client.pttl(dim.key);
    expect(ttl).toBeGreaterThan(600);
    expect(ttl).toBeLessThanOrEqual(800);
    await sleep(900);
    expect(await local.client.exists(dim.key)).toBe(0);

    // When N does not divide W, g = ceil(W / N) and the key lives (N + 1) * g.
    const odd = sliding(`${freshPrefix()}:odd`, { windowMs: 1000, buckets: 3 });
    await store.consume([odd]);
    expect(await local.client.pttl(odd.key)).toBeGreaterThan(1002);
    expect(await local.client.pttl(odd.key)).toBeLessThanOrEqual(4 * 334);
  });

  it('stores a calendar count under its period id and expires it just after the period', async () => {
    const end = Date.UTC(2026, 11, 31, 23, 0); // local midnight on Jan 1, 2027 at UTC+01:00
    const clock = fakeClock(end - 300);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const day = calendar(`${freshPrefix()}:day`, { utcOffsetMinutes: 60, limit: 5 });
    const decision = await store.consume([day]);
    expect(decision.results[0]).toMatchObject({ used: 1, resetAt: end });
    expect(await local.client.hgetall(day.key)).toEqual({ '20261231': '1' });
    const ttl = await local.client.pttl(day.key);
    expect(ttl).toBeGreaterThan(300);
    expect(ttl).toBeLessThanOrEqual(1300);
    await sleep(1500);
    expect(await local.client.exists(day.key)).toBe(0);

    // In the next period, the old period's field is replaced.
    const key = calendar(`${freshPrefix()}:day`, { utcOffsetMinutes: 60, limit: 5 });
    await store.consume([key]);
    clock.t = end;
    await store.consume([{ ...key, amount: 2 }]);
    expect(await local.client.hgetall(key.key)).toEqual({ '20270101': '2' });
  });

  it('computes the same calendar periods in Lua as calendar.ts', async () => {
    const clock = fakeClock(0);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const instants = [
      Date.UTC(2024, 1, 29, 12), // leap day
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2023, 1, 28, 23, 30), // non-leap February
      Date.UTC(2100, 1, 28, 22), // 2100 is not a leap year
      Date.UTC(2000, 1, 29, 1), // 2000 is
      Date.UTC(2026, 11, 31, 23, 59, 59, 999), // Dec -> Jan
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2026, 3, 30, 20), // April 30 evening
      Date.UTC(2026, 0, 31, 11, 59),
      Date.UTC(1970, 0, 1, 0, 0),
      Date.UTC(2038, 0, 19, 3, 14, 8),
    ];
    const offsets = [0, -720, -300, -1, 1, 330, 345, 840];
    for (const at of instants) {
      for (const utcOffsetMinutes of offsets) {
        for (const period of ['day', 'month'] as const) {
          clock.t = at;
          const expected = calendarPeriod(at, period, utcOffsetMinutes);
          const dim = calendar(`${freshPrefix()}:q`, { period, utcOffsetMinutes, limit: 10 });
          const charged = await store.consume([dim]);
          const context = `${new Date(at).toISOString()} ${period} ${utcOffsetMinutes}`;
          expect(charged.results[0]!.resetAt, context).toBe(expected.endsAt);
          expect(Object.keys(await local.client.hgetall(dim.key)), context).toEqual([expected.id]);
          const never = await store.peek([{ ...dim, amount: 11 }]);
          expect(never.results[0]!.retryAfterMs, context).toBe(expected.endsAt - expected.startsAt);
          await local.client.del(dim.key);
        }
      }
    }
  });
});

function sha1OfScript(client: Redis): string {
  // ioredis keeps each defined script (with its SHA1) in `scriptsSet`.
  const scripts = (client as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
  return scripts.rateLimiterV7!.sha;
}
