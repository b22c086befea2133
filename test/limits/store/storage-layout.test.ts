import { describe, expect, it } from 'vitest';
import { createMemoryLimitStore } from '../../../src/limits/store/memory-store.js';
import { createRedisLimitStoreForTests } from '../../../src/limits/store/redis-store.js';
import type { Adjustment, LimitDecision, LimitStore } from '../../../src/limits/store/types.js';
import { useTestRedis } from '../../support/redis-server.js';
import { fakeClock, freshPrefix, prng, sliding } from './helpers.js';

/**
 * The sliding-window key layout of the limit script (ALGORITHM.md, "Storage"): a check reads the
 * key's running total and oldest sub-bucket, not every sub-bucket, and a key written by the
 * previous script (sub-bucket fields only) is decided as before.
 */

const local = useTestRedis();

const WINDOW_MS = 60_000;
const BUCKETS = 30;
const G = WINDOW_MS / BUCKETS;

/** What a caller sees of a decision (`now` included: both stores run on the same fake clock). */
const seen = (decision: LimitDecision) => ({ allowed: decision.allowed, now: decision.now, results: decision.results });

describe('sliding-window keys written by the previous script (rateLimiterV3)', () => {
  it('are decided exactly as the memory twin decides the same admissions, through refusals, refunds, replays and eviction', async () => {
    // now - W falls 700 ms into the edge sub-bucket.
    const start = Math.floor(Date.UTC(2026, 2, 1, 12) / G) * G + 700;
    const clock = fakeClock(start);
    const redisStore = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const memory = createMemoryLimitStore({ now: clock.now });
    const edge = Math.floor((start - WINDOW_MS) / G);
    const current = Math.floor(start / G);
    for (const edgeOffset of [500, 700, 900]) {
      const old = sliding(`${freshPrefix()}:req:m`, { limit: 40, windowMs: WINDOW_MS, buckets: BUCKETS });
      const twin = { ...old, key: `${freshPrefix()}:req:m` };
      // The previous layout: '<id>' = '<sum>:<ms from the sub-bucket's start to its last charge>',
      // a bare '<sum>' counting as charged at the end of its span. An expired sub-bucket, the
      // window's edge (expired at offset <= 700, live after), and live ones.
      const fields: Record<string, string> = {
        [String(edge - 3)]: '5:100',
        [String(edge)]: `4:${edgeOffset}`,
        [String(edge + 1)]: '3:1999',
        [String(edge + 4)]: '2', // a bare sum, from before offsets were stored
        [String(edge + 10)]: '6:0',
        [String(current - 1)]: '7:1500',
        [String(current)]: '5:300',
      };
      await local.client.hset(old.key, fields);
      await local.client.pexpire(old.key, (BUCKETS + 1) * G);
      // The same admissions, replayed into the memory twin at their last charge.
      const replays: Adjustment[] = Object.entries(fields).map(([id, value]) => {
        const [sum, offset] = value.split(':');
        const at = offset === undefined ? (Number(id) + 1) * G - 1 : Number(id) * G + Number(offset);
        return { dimension: twin, at, delta: Number(sum), placement: 'at' };
      });
      await memory.adjust(replays);

      const random = prng(edgeOffset);
      for (let step = 0; step < 120; step++) {
        const op = random();
        const amount = 1 + Math.floor(random() * 4);
        // A refund or a replay at an earlier time (possibly into an expired or evicted
        // sub-bucket), carried by a check as a settle.
        const at = clock.t - Math.floor(random() * (WINDOW_MS + 4 * G));
        const delta = op < 0.85 ? -amount : amount;
        const on = (store: LimitStore, dim: typeof old) => {
          const d = { ...dim, amount };
          if (op < 0.55) return store.consume([d]);
          if (op < 0.7) return store.peek([d]);
          return store.consume([d], [{ dimension: dim, at, delta, placement: 'at' }]);
        };
        const fromRedis = await on(redisStore, old);
        const fromMemory = await on(memory, twin);
        expect(seen(fromRedis), `edge offset ${edgeOffset}, step ${step}`).toEqual(seen(fromMemory));
        // Now and then an idle spell: up to a window and a bit, past the key's expiry.
        clock.advance(random() < 0.05 ? Math.floor(random() * (WINDOW_MS + 3 * G)) : Math.floor(random() * 1500));
      }
    }
  });
});

describe('a check of a sliding key', () => {
  /** The commands the script runs inside Redis for one check, as MONITOR shows them (source `lua`). */
  async function scriptCommandsOf(check: () => Promise<unknown>): Promise<string[][]> {
    const monitor = await local.client.monitor();
    const seenArgs: string[][] = [];
    const marker = `end-${Math.random()}`;
    let done!: () => void;
    const ended = new Promise<void>((resolve) => (done = resolve));
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source.includes('lua')) seenArgs.push(args);
      else if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) done();
    });
    try {
      await check();
      await local.client.echo(marker);
      await ended;
    } finally {
      monitor.disconnect();
    }
    return seenArgs;
  }

  /** Hash fields read by HGET / HMGET, and HGETALL calls. */
  const reads = (commands: string[][]) => ({
    fields: commands.filter(([name]) => /^hm?get$/i.test(name!)).reduce((n, args) => n + args.length - 2, 0),
    hgetall: commands.filter(([name]) => /^hgetall$/i.test(name!)).length,
  });

  async function commandCalls(): Promise<Map<string, number>> {
    const info = await local.client.info('commandstats');
    return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }

  it('reads the same 4 fields whether 1 or 30 sub-buckets count, and never the whole key', async () => {
    const start = Math.floor(Date.UTC(2026, 2, 1, 12) / G) * G;
    const clock = fakeClock(start);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const full = sliding(`${freshPrefix()}:req:m`, { limit: 1_000_000, windowMs: WINDOW_MS, buckets: BUCKETS });
    const lone = sliding(`${freshPrefix()}:req:m`, { limit: 1_000_000, windowMs: WINDOW_MS, buckets: BUCKETS });
    // Steady traffic: a charge in each of 30 sub-buckets, so all 30 count.
    for (let i = 0; i < BUCKETS; i++) {
      await store.consume([full]);
      if (i < BUCKETS - 1) clock.advance(G);
    }
    await store.consume([lone]);
    expect(Object.keys(await local.client.hgetall(full.key)).filter((name) => /^\d+$/.test(name))).toHaveLength(30);
    clock.advance(G / 2);

    const before = await commandCalls();
    const fullCheck = reads(await scriptCommandsOf(() => store.consume([full])));
    const loneCheck = reads(await scriptCommandsOf(() => store.consume([lone])));
    const after = await commandCalls();

    expect(fullCheck.hgetall).toBe(0);
    // The total, oldest (with its last charge, for resetAt) and newest fields and the current
    // sub-bucket, in one HMGET.
    expect(fullCheck.fields).toBe(4);
    expect(loneCheck.fields).toBe(4);
    // INFO commandstats counts the commands scripts run: no HGETALL among them.
    expect((after.get('hgetall') ?? 0) - (before.get('hgetall') ?? 0)).toBe(0);

    // One sub-bucket later the oldest has left the window: evicting it reads it (for its sum) and
    // the ids after it up to the next stored one (8 at a time).
    clock.advance(G);
    const evicting = reads(await scriptCommandsOf(() => store.consume([full])));
    expect(evicting.hgetall).toBe(0);
    expect(evicting.fields).toBeLessThanOrEqual(4 + 1 + 8);
    const decision = await store.peek([full]);
    expect(decision.results[0]!.used).toBe(31); // 32 charged, the first sub-bucket's 1 left the window
  });
});
