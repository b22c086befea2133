import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import { sleepAtLeast } from '../../src/limits/limit-gate.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import type { SlidingDimension } from '../../src/limits/store/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis, type RedisClient } from '../../src/stores/redis.js';
import { useTestRedis } from '../support/redis-server.js';
import { freshPrefix, maxInAnyWindow } from './store/helpers.js';

/**
 * Graduated throttling on a real redis-server, across limiter instances (each its own connection,
 * as gateway processes have; leases on, as the demo config has them): requests over the limit but
 * within the burst zone are held, never refused, and run when the rolling window has room; in
 * every rolling window the requests run (by where the store placed their charge, on its clock)
 * never exceed the limit, and none runs before its slot; past the burst or the longest delay, 429.
 *
 * The window is 3 s (100 ms sub-buckets), so that a test sees holds without waiting a minute, and
 * leases apply to it (a lifetime of 3 s / 60 = 50 ms). The store timeout is 5 s: what is measured
 * is throttling, and a loaded machine must not turn a slow reply into an outage.
 */
const WINDOW_MS = 3000;
const LIMIT = 300;
const BURST = 10;

const local = useTestRedis();

interface Instance {
  limiter: Limiter;
  close(): Promise<void>;
}

async function startLimiter(url: string, overrides: { maxHeldRequests?: number } = {}): Promise<Instance> {
  const logger = createLogger({ level: 'silent' });
  const redis: RedisClient = createRedis(url, logger, { maxReconnectDelayMs: 250 });
  const config = { ...(await loadConfigFile(DEMO_CONFIG_PATH, {})).limits, storeTimeoutMs: 5000, ...overrides };
  const limiter = createLimiter({ shared: createRedisLimitStore({ redis }), link: createRedisLink(redis), divisor: () => 1, config, logger });
  await limiter.start();
  return {
    limiter,
    async close() {
      await limiter.close();
      redis.disconnect();
    },
  };
}

function dimension(key: string, burst: { amount: number; maxDelayMs: number }): SlidingDimension {
  return { kind: 'sliding', name: 'minute', key, limit: LIMIT, windowMs: WINDOW_MS, buckets: 30, amount: 1, burst };
}

interface Run {
  /**
   * When it was admitted to run, on the store clock (this machine's clock: Redis runs here): a held
   * request's slot (where its charge was placed); a checked one's decision time; one decided from a
   * lease (charged ahead, at the lease's end), when the decision reached the client, which the
   * lease's argument covers up to its charge (ALGORITHM.md, "Leases": a token is used before then).
   * (A token's own `now` is estimated from a clock offset that a loaded machine's reply latency skews.)
   */
  admittedAt: number;
  /** When the client's request ran (after its hold), Date.now(). */
  ranAt: number;
  heldMs: number;
  /** What it charged (1 for a request; a fill charges what is left of the window at once). */
  amount: number;
}

/** Every request run (after its hold), and the refusals. */
interface Load {
  runs: Run[];
  refused: number;
}

/** One request through `instance`: refused, or run once its hold (the limit gate's, limit-gate.ts) is over. */
async function request(instance: Instance, dims: SlidingDimension[], into: Load): Promise<boolean> {
  const { decision, source } = await instance.limiter.consume(dims, 'closed');
  expect(source).toBe('shared');
  if (!decision.allowed) {
    into.refused++;
    return false;
  }
  const heldMs = decision.heldMs ?? 0;
  if (heldMs > 0) await sleepAtLeast(heldMs);
  const chargedAt = decision.chargedAt ?? decision.now;
  const admittedAt = heldMs > 0 || chargedAt === decision.now ? chargedAt : Math.min(Date.now(), chargedAt);
  into.runs.push({ admittedAt, ranAt: Date.now(), heldMs, amount: 1 });
  return true;
}

/** `workers` closed loops per instance (a retry loop: each waits for its answer and its hold, then sends again), for `durationMs`. */
async function closedLoops(instances: Instance[], dims: SlidingDimension[], workers: number, durationMs: number): Promise<Load> {
  const into: Load = { runs: [], refused: 0 };
  const until = Date.now() + durationMs;
  const loop = async (instance: Instance) => {
    while (Date.now() < until) {
      // A refused client retries after a short pause (a retry loop that does not spin).
      if (!(await request(instance, dims, into))) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await Promise.all(instances.flatMap((instance) => Array.from({ length: workers }, () => loop(instance))));
  return into;
}

/** The whole window used at once (one charge of the limit): its room comes back one window later. */
async function fill(instance: Instance, key: string): Promise<void> {
  const { decision } = await instance.limiter.consume([{ ...dimension(key, { amount: 1, maxDelayMs: 1 }), amount: LIMIT }], 'closed');
  expect(decision.allowed).toBe(true);
}

async function withInstances<T>(count: number, run: (instances: Instance[]) => Promise<T>, overrides: { maxHeldRequests?: number } = {}): Promise<T> {
  const instances = await Promise.all(Array.from({ length: count }, () => startLimiter(local.server.url, overrides)));
  try {
    return await run(instances);
  } finally {
    await Promise.all(instances.map((instance) => instance.close()));
  }
}

describe('graduated throttling across limiter instances on one redis-server', () => {
  it('holds a client whose excess fits its burst instead of refusing it, and never runs more than the limit in any rolling window', async () => {
    const key = `${freshPrefix()}:req:m`;
    const dims = [dimension(key, { amount: BURST, maxDelayMs: WINDOW_MS })];
    const into: Load = { runs: [], refused: 0 };
    await withInstances(4, async (instances) => {
      // Three rounds: the window is used up (one charge of what is left in it), then the client
      // sends as many requests as its burst, at once, over the 4 instances. Each is held until the
      // oldest charges leave the window (less than a window away: within maxDelayMs whatever the
      // machine's load), then runs.
      for (let round = 0; round < 3; round++) {
        const instance = instances[round % 4]!;
        const room = LIMIT - (await instance.limiter.peek(dims)).decision.results[0]!.used;
        if (room > 0) {
          const { decision, source } = await instance.limiter.consume([{ ...dims[0]!, amount: room }], 'closed');
          expect({ source, allowed: decision.allowed }).toEqual({ source: 'shared', allowed: true });
          into.runs.push({ admittedAt: decision.now, ranAt: Date.now(), heldMs: 0, amount: room });
        }
        await Promise.all(Array.from({ length: BURST }, (_, i) => request(instances[i % 4]!, dims, into)));
      }
    });
    expect(into.refused).toBe(0);
    const held = into.runs.filter((r) => r.heldMs > 0);
    // None refused: every request ran, held when over the limit (all of the first round's; on a
    // slow machine a later round's request may find room already); each hold within the longest delay.
    expect(into.runs.filter((r) => r.amount === 1)).toHaveLength(3 * BURST);
    expect(held.length).toBeGreaterThanOrEqual(BURST);
    expect(Math.max(...held.map((r) => r.heldMs))).toBeLessThanOrEqual(WINDOW_MS);
    expect(
      maxInAnyWindow(
        into.runs.map((r) => ({ at: r.admittedAt, amount: r.amount })),
        WINDOW_MS,
      ),
    ).toBeLessThanOrEqual(LIMIT);
    // No held request ran before its slot (both clocks are this machine's: Redis TIME and Date.now()).
    expect(held.filter((r) => r.ranAt < r.admittedAt)).toEqual([]);
  });

  it('refuses past the burst: more clients waiting than the burst holds get 429s, and the window still holds the limit', async () => {
    const key = `${freshPrefix()}:req:m`;
    const dims = [dimension(key, { amount: BURST, maxDelayMs: WINDOW_MS })];
    // 4 x 6 = 24 waiting at once, for a burst of 10.
    const { runs, refused } = await withInstances(4, (instances) => closedLoops(instances, dims, 6, 1.5 * WINDOW_MS));
    expect(refused).toBeGreaterThan(0);
    expect(runs.some((r) => r.heldMs > 0)).toBe(true);
    expect(
      maxInAnyWindow(
        runs.map((r) => ({ at: r.admittedAt, amount: 1 })),
        WINDOW_MS,
      ),
    ).toBeLessThanOrEqual(LIMIT);
    expect(runs.filter((r) => r.heldMs > 0 && r.ranAt < r.admittedAt)).toEqual([]);
  });

  it('refuses a request whose slot is further away than maxDelayMs', async () => {
    const key = `${freshPrefix()}:req:m`;
    const dims = [dimension(key, { amount: BURST, maxDelayMs: 200 })];
    await withInstances(1, async ([instance]) => {
      // The whole window used at once: its room comes back a window later, past 200 ms.
      await fill(instance!, key);
      const { decision } = await instance!.limiter.consume(dims, 'closed');
      expect(decision.allowed).toBe(false);
      expect(decision.heldMs ?? 0).toBe(0);
      expect(decision.results[0]!.retryAfterMs).toBeGreaterThan(200);
    });
  });

  it('holds at most limits.maxHeldRequests per instance: past it, 429', async () => {
    const key = `${freshPrefix()}:req:m`;
    const dims = [dimension(key, { amount: BURST, maxDelayMs: WINDOW_MS })];
    await withInstances(
      1,
      async ([instance]) => {
        const limiter = instance!.limiter;
        await fill(instance!, key);
        // 8 at once into a full window, a burst of 10, but this instance may hold only 3.
        const outcomes = await Promise.all(Array.from({ length: 8 }, () => limiter.consume(dims, 'closed')));
        const held = outcomes.filter((o) => (o.decision.heldMs ?? 0) > 0);
        expect(held).toHaveLength(3);
        expect(outcomes.filter((o) => !o.decision.allowed)).toHaveLength(5);
        // Headers stay truthful while held: nothing remains, and the count includes the held ones.
        for (const { decision } of held) expect(decision.results[0]).toMatchObject({ allowed: true, remaining: 0 });
        expect(Math.max(...held.map((o) => o.decision.results[0]!.used))).toBe(LIMIT + 3);
      },
      { maxHeldRequests: 3 },
    );
  });
});
