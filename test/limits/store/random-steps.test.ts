import { describe, expect, it } from 'vitest';
import { calendarPeriod } from '../../../src/limits/store/calendar.js';
import { createMemoryLimitStore } from '../../../src/limits/store/memory-store.js';
import { createRedisLimitStoreForTests } from '../../../src/limits/store/redis-store.js';
import type {
  Adjustment,
  CalendarDimension,
  Dimension,
  LeaseDecision,
  LeaseRequest,
  LeasingLimitStore,
  LimitDecision,
  SlidingDimension,
  StoreStamp,
} from '../../../src/limits/store/types.js';
import { useTestRedis } from '../../support/redis-server.js';
import { fakeClock, freshPrefix, prng } from './helpers.js';

/**
 * The one definition of the limit arithmetic (sliding-window.ts, calendar.ts, verdict.ts, run by the
 * memory store) against its one mirror, limiter.lua on a real redis-server: both are driven through
 * the same random steps on one clock (consumes and peeks of several dimensions with varying
 * amounts, limits and check-only flags, settles and adjustments with every placement, time moving
 * by random amounts and onto sub-bucket, window and calendar-period edges), and every decision
 * must be the same: verdict, used, remaining, resetAt and retryAfterMs of every dimension, and for
 * a consume held in a burst zone (graduated throttling: some sliding dimensions carry a random
 * burst and max delay) the delay and where its charge was placed; those charges, ahead of now, are
 * then counted, refunded and held behind by later steps on both sides. Every call, adjustments
 * alone included, must also have the same number among its tag's calls (`seq`: call-sequence.ts,
 * the counter the script INCRs), and the same store time.
 *
 * A failure names its seed; replay it alone with
 *   RANDOM_STEPS_SEED=<seed> npx vitest run test/limits/store/random-steps.test.ts
 *
 * Redis expires keys on its own clock, not on the test clock the script is given, so a key could
 * expire in Redis while the test clock says it still counts. The test therefore removes the keys'
 * expiry (PERSIST) right behind each script call, on the same connection (a key lives at least a
 * second after a call: W + g for a window of 999 ms or more, a second past a calendar period):
 * the script then decides on everything it ever wrote, and the memory store, which does expire
 * its keys on the test clock, must decide the same (its expiry must never drop anything that still
 * counts). The keys' expiry itself is asserted in redis-store.test.ts and memory-store.test.ts.
 */

const local = useTestRedis();
/** Consumes held across the seeds (the steps above must exercise holds, not only refusals). */
let heldInAllSeeds = 0;
/** Lease calls granted across the seeds, and those that reserved response bytes on a check-only dimension. */
let leasesInAllSeeds = 0;
let byteLeasesInAllSeeds = 0;

const STEPS = 250;
const SEEDS = process.env.RANDOM_STEPS_SEED ? [Number(process.env.RANDOM_STEPS_SEED)] : Array.from({ length: 30 }, (_, i) => i + 1);

/**
 * Windows (ms) and sub-bucket counts drawn from: odd sizes so that g = ceil(W / N) rounds, g = 1
 * when N ≥ W. At least 999 ms: see the file's comment on expiry.
 */
const WINDOWS = [999, 1_000, 2_000, 10_007, 60_000, 3_600_000];
const BUCKETS = [1, 2, 3, 7, 30, 60, 1_000];
/** UTC offsets (minutes): UTC, New York winter, India, Nepal, the extremes, Central Europe. */
const OFFSETS = [0, -300, 330, 345, -720, 840, 60];

/** What a caller sees of a decision (`now` included: both stores run on the same clock), a hold's delay and charge included. */
const seen = (decision: LimitDecision) => ({
  allowed: decision.allowed,
  now: decision.now,
  seq: decision.seq,
  heldMs: decision.heldMs ?? 0,
  chargedAt: decision.chargedAt ?? decision.now,
  granted: (decision as Partial<LeaseDecision>).granted ?? 0,
  results: decision.results,
});

interface Scenario {
  sliding: SlidingDimension[];
  calendar: CalendarDimension[];
  all: Dimension[];
}

function scenario(random: () => number): { start: number; twin: (prefix: string) => Scenario } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (below: number) => Math.floor(random() * below);
  // Two time zones per run; the clock starts up to 3 days before a month begins in the first.
  const zones = [pick(OFFSETS), pick(OFFSETS)];
  const start = Date.UTC(2024 + int(7), int(12), 1) - zones[0]! * 60_000 - int(3 * 86_400_000);
  const slidingSpecs = Array.from({ length: 3 }, () => {
    const windowMs = pick(WINDOWS);
    const buckets = random() < 0.8 ? pick(BUCKETS) : 1 + int(1_000);
    return { windowMs, buckets, limit: random() < 0.15 ? 1_000 : int(21) };
  });
  const calendarSpecs = Array.from({ length: 2 }, (_, i) => ({
    period: i === 0 ? ('day' as const) : pick(['day', 'month'] as const),
    utcOffsetMinutes: zones[i]!,
    limit: int(31),
  }));
  return {
    start,
    twin: (prefix) => {
      const sliding = slidingSpecs.map((spec, i): SlidingDimension => ({ kind: 'sliding', name: `s${i}`, key: `${prefix}:s${i}`, amount: 1, ...spec }));
      const calendar = calendarSpecs.map((spec, i): CalendarDimension => ({ kind: 'calendar', name: `c${i}`, key: `${prefix}:c${i}`, amount: 1, ...spec }));
      return { sliding, calendar, all: [...sliding, ...calendar] };
    },
  };
}

/** A lease call's parameters: lifetimes up to half the shortest window, bytes reserved per request or none. */
function leaseOf(random: () => number, shortestWindowMs: number): LeaseRequest {
  const int = (below: number) => Math.floor(random() * below);
  const bytes = random();
  return {
    tokens: int(20),
    lifetimeMs: random() < 0.1 ? 0 : 1 + int(Math.floor(shortestWindowMs / 2)),
    keepPermille: random() < 0.3 ? 0 : int(1001),
    sharePermille: random() < 0.3 ? 1000 : int(1001),
    ...(bytes < 0.2 ? {} : { bytesPerRequest: bytes < 0.3 ? 0 : 1 + int(6) }),
  };
}

describe('the memory store and limiter.lua on the same random steps', () => {
  it.each(SEEDS)('decide the same at every step (seed %i)', async (seed) => {
    const random = prng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const int = (below: number) => Math.floor(random() * below);
    const { start, twin } = scenario(random);
    const clock = fakeClock(start);
    const memory = createMemoryLimitStore({ now: clock.now });
    const redis = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    // The same dimensions on both sides, on keys of their own (the memory store's are never in Redis),
    // under one hash tag on each side, as a tenant's: one call counter per side.
    const onMemory = twin('rl:{memory}');
    const onRedis = twin(freshPrefix());
    const redisKeys = onRedis.all.map((d) => d.key);
    // Admitted charges (dimension index, time): refunds go back to them, and the clock moves to
    // where they leave their window.
    const charged: { index: number; at: number }[] = [];
    const chargedOn = (index: number) => charged.filter((c) => c.index === index);

    /** 1 to 3 distinct dimensions (by index into `all`), each with this step's amount, limit and flag. */
    const checkOf = () => {
      const count = 1 + int(3);
      const chosen = new Set<number>();
      while (chosen.size < count) chosen.add(int(onMemory.all.length));
      return [...chosen].map((index) => {
        const base = onMemory.all[index]!.limit;
        const limit = random() < 0.8 ? base : int(2 * base + 2);
        const amount = random() < 0.1 ? limit + 1 + int(3) : random() < 0.1 ? 0 : 1 + int(4);
        const dimension = onMemory.all[index]!;
        const checkOnly = random() < 0.15;
        // A burst zone on most sliding checks: a small or large amount, a delay up to the window
        // (half of them the whole window, so that holds are frequent, not only their refusals).
        const burst =
          dimension.kind === 'sliding' && !checkOnly && random() < 0.6
            ? { amount: random() < 0.2 ? 1_000 : 1 + int(6), maxDelayMs: random() < 0.5 ? dimension.windowMs : 1 + int(dimension.windowMs) }
            : undefined;
        return { index, limit, amount, checkOnly, ...(burst ? { burst } : {}) };
      });
    };
    type Check = ReturnType<typeof checkOf>;
    const dimsOf = (side: Scenario, check: Check): Dimension[] =>
      check.map(
        ({ index, limit, amount, checkOnly, burst }) =>
          ({ ...side.all[index]!, limit, amount, ...(checkOnly ? { checkOnly } : {}), ...(burst ? { burst } : {}) }) as Dimension,
      );

    /** An adjustment: a refund, a late addition or a replay, at a time near the key's window or period. */
    const adjustmentOf = () => {
      const index = int(onMemory.all.length);
      const dimension = onMemory.all[index]!;
      const now = clock.t;
      const span = dimension.kind === 'sliding' ? dimension.windowMs : 86_400_000;
      const g = dimension.kind === 'sliding' ? Math.ceil(dimension.windowMs / dimension.buckets) : 1;
      const atChoices = [
        () => pick([...chargedOn(index), { at: now }]).at, // a refund of a charge: where it was placed
        () => now - int(2 * span + 2),
        () => now + 1 + int(1_000), // ahead: a clock-skewed replay, a refund of a charge placed ahead
        () => now - span + (int(3) - 1), // the window's edge, or a millisecond either side
        () => now - span, // exactly one window ago: no longer in it
        () => Math.floor((now - span) / g) * g + int(g), // in the sub-bucket holding the window's edge
        () => now,
      ];
      const at = Math.max(0, pick(atChoices)());
      const delta = random() < 0.6 ? -(1 + (random() < 0.1 ? 1_000 : int(5))) : 1 + int(5);
      const placement = pick([undefined, 'at', 'now'] as const);
      return { index, at, delta, ...(placement ? { placement } : {}) };
    };
    type Adjust = ReturnType<typeof adjustmentOf>;
    const adjustmentsOf = (side: Scenario, list: Adjust[]): Adjustment[] => list.map(({ index, ...rest }) => ({ dimension: side.all[index]!, ...rest }));

    /** The next instant: often the same, often onto an edge of one of the dimensions. */
    const advance = (): string => {
      const now = clock.t;
      const r = random();
      let target = now;
      if (r < 0.2) target = now;
      else if (r < 0.4) target = now + 1 + int(50);
      else if (r < 0.6) {
        // A sub-bucket's edge, or a millisecond either side of it.
        const { windowMs, buckets } = pick(onMemory.sliding);
        const g = Math.ceil(windowMs / buckets);
        target = (Math.floor(now / g) + 1) * g + int(3) - 1;
      } else if (r < 0.75 && charged.some((c) => onMemory.all[c.index]!.kind === 'sliding')) {
        // Where a charge leaves its window, or a millisecond either side.
        const { index, at } = pick(charged.filter((c) => onMemory.all[c.index]!.kind === 'sliding'));
        target = at + (onMemory.all[index] as SlidingDimension).windowMs + int(3) - 1;
      } else if (r < 0.85) {
        target = now + int(pick(onMemory.sliding).windowMs + 1);
      } else if (r < 0.92) {
        // A calendar period's end, or a millisecond either side.
        const { period, utcOffsetMinutes } = pick(onMemory.calendar);
        target = calendarPeriod(now, period, utcOffsetMinutes).endsAt + int(3) - 1;
      } else {
        target = now + int(2 * pick(onMemory.sliding).windowMs + 2);
      }
      if (target > now) clock.advance(target - now);
      return `clock +${clock.t - now} ms`;
    };

    const history: string[] = [];
    /** Consumes held (so a run that never holds is seen: the scenario must reach the burst zone). */
    let held = 0;
    for (let step = 0; step < STEPS; step++) {
      const op = random();
      const settle = random() < 0.3 ? Array.from({ length: 1 + int(2) }, adjustmentOf) : [];
      let run: (store: LeasingLimitStore, side: Scenario) => Promise<LimitDecision | StoreStamp | null>;
      let described: string;
      // The dimensions a consume charges when it admits.
      let charges: Check = [];
      if (op >= 0.45 && op < 0.55) {
        const check = checkOf();
        const lease = leaseOf(random, Math.min(...onMemory.sliding.map((d) => d.windowMs)));
        // A granted lease also charges the check-only dimensions it reserves bytes on.
        charges = check.filter((c) => (!c.checkOnly && c.amount > 0) || (c.checkOnly && (lease.bytesPerRequest ?? 0) > 0));
        described = `lease ${JSON.stringify(check)} ${JSON.stringify(lease)} settle ${JSON.stringify(settle)}`;
        run = (store, side) => store.lease(dimsOf(side, check), adjustmentsOf(side, settle), lease);
      } else if (op < 0.55 || op >= 0.8) {
        const check = checkOf();
        const mode = op < 0.55 ? 'consume' : 'peek';
        if (mode === 'consume') charges = check.filter((c) => !c.checkOnly && c.amount > 0);
        described = `${mode} ${JSON.stringify(check)} settle ${JSON.stringify(settle)}`;
        run = (store, side) => store[mode](dimsOf(side, check), adjustmentsOf(side, settle));
      } else {
        const list = settle.length > 0 ? settle : [adjustmentOf()];
        described = `adjust ${JSON.stringify(list)}`;
        run = (store, side) => store.adjust(adjustmentsOf(side, list));
      }
      history.push(`${step} @${clock.t}: ${described}`);
      // The script call goes out before `run` returns its promise; PERSIST follows it on the same
      // connection (see the file's comment).
      const onScript = run(redis, onRedis);
      const pipeline = local.client.pipeline();
      for (const key of redisKeys) pipeline.persist(key);
      const persisted = pipeline.exec();
      const fromRedis = await onScript;
      await persisted;
      const fromMemory = await run(memory, onMemory);
      const context = `seed ${seed}, step ${step}; replay with RANDOM_STEPS_SEED=${seed}. Last steps:\n${history.slice(-8).join('\n')}`;
      if (fromRedis === null || fromMemory === null || !('results' in fromRedis) || !('results' in fromMemory)) {
        // Adjustments alone: the same call, at the same time and with the same number, or none on both sides.
        expect(fromMemory, context).toEqual(fromRedis);
      } else {
        expect(seen(fromMemory), context).toEqual(seen(fromRedis));
        if (fromRedis.allowed) for (const { index } of charges) charged.push({ index, at: fromRedis.chargedAt ?? fromRedis.now });
        if ((fromRedis.heldMs ?? 0) > 0) held += 1;
        const granted = (fromRedis as Partial<LeaseDecision>).granted ?? 0;
        if (granted > 0) leasesInAllSeeds += 1;
        if (granted > 0 && described.includes('"checkOnly":true') && !described.includes('"bytesPerRequest":0')) byteLeasesInAllSeeds += 1;
        if (charged.length > 30) charged.splice(0, charged.length - 30);
      }
      history.push(advance());
    }
    heldInAllSeeds += held;
  });

  it.skipIf(SEEDS.length === 1)('reach the burst zone: some consumes were held, on both sides alike', () => {
    expect(heldInAllSeeds).toBeGreaterThan(20);
  });

  it.skipIf(SEEDS.length === 1)('grant leases, some reserving response bytes on a check-only dimension, on both sides alike', () => {
    expect(leasesInAllSeeds).toBeGreaterThan(20);
    expect(byteLeasesInAllSeeds).toBeGreaterThan(5);
  });
});
