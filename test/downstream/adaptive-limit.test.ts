import { describe, expect, it } from 'vitest';
import { type AdaptiveLimitOptions, createAdaptiveLimit, createFixedLimit } from '../../src/downstream/adaptive-limit.js';

/**
 * A simulated service on a simulated clock. Each window of 100 ms, the gateway runs
 * `min(demand, limit)` calls at once and every one of them reports the service's latency at that
 * concurrency: `baseMs` up to `capacity` calls, then rising in proportion (queueing at the
 * service), as a service of `capacity` workers does. Ten samples per window.
 */
function simulation(options: Partial<AdaptiveLimitOptions> = {}) {
  let time = 0;
  const limit = createAdaptiveLimit({ min: 4, max: 64, now: () => time, ...options });
  const service = { baseMs: 50, capacity: 1000, demand: Infinity, failedShare: 0 };
  let sampled = 0;
  /** Runs `windows` windows; returns the limit after each. */
  function run(windows: number): number[] {
    const limits: number[] = [];
    for (let w = 0; w < windows; w++) {
      const inFlight = Math.min(service.demand, limit.limit());
      const rttMs = service.baseMs * Math.max(1, inFlight / service.capacity);
      for (let i = 0; i < 10; i++) {
        time += 10;
        sampled++;
        // Failures spread evenly: every (1 / share)-th sample.
        const failed = service.failedShare > 0 && sampled % Math.round(1 / service.failedShare) === 0;
        limit.sample({ rttMs: failed ? 1 : rttMs, failed, inFlight });
      }
      limits.push(limit.limit());
    }
    return limits;
  }
  return { limit, service, run };
}

describe('adaptive limit', () => {
  it('starts at max, and stays there while latency holds', () => {
    const sim = simulation();
    expect(sim.limit.limit()).toBe(64);
    expect(sim.run(20).every((l) => l === 64)).toBe(true);
  });

  it("converges to the service's capacity: the knee of its latency plus headroom", () => {
    const sim = simulation({ max: 200 });
    sim.service.capacity = 20;
    // A quiet spell first: 5 calls at a time measure the latency without queueing.
    sim.service.demand = 5;
    sim.run(5);
    expect(sim.limit.limit()).toBe(200); // app-limited: neither grown nor shrunk
    sim.service.demand = Infinity;
    const limits = sim.run(60);
    const settled = limits.slice(-20);
    // limit = C x 1.1 + sqrt(limit) for this model: about 29 for C = 20.
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...settled)).toBeLessThanOrEqual(32);
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThanOrEqual(2);
  });

  it('backs off when latency rises, at most by half per window', () => {
    const sim = simulation();
    sim.service.baseMs = 10;
    sim.run(5);
    sim.service.baseMs = 50;
    const limits = sim.run(20);
    expect(limits[0]).toBe(40); // 64 x 0.5 + sqrt(64)
    expect(limits[limits.length - 1]).toBeLessThanOrEqual(6);
  });

  it("does not take the gateway's own event-loop delay for the service's", () => {
    let lag = 0;
    const sim = simulation({ lagMs: () => lag });
    sim.service.baseMs = 10;
    sim.run(5);
    // The gateway saturates: every answer is read 40 ms late, and the loop says so.
    sim.service.baseMs = 50;
    lag = 40;
    expect(sim.run(20).every((l) => l === 64)).toBe(true);
    // The same latency without the loop to explain it: the service is slower, and the limit backs off.
    lag = 0;
    expect(sim.run(1)).toEqual([40]);
  });

  it('recovers when latency falls back', () => {
    const sim = simulation();
    sim.service.baseMs = 10;
    sim.run(5);
    sim.service.baseMs = 50;
    sim.run(20);
    sim.service.baseMs = 10;
    const limits = sim.run(15);
    expect(limits[limits.length - 1]).toBe(64);
    // Doubling at most, plus headroom, per window.
    expect(limits[0]).toBeLessThanOrEqual(16);
  });

  it('shrinks a service that fails fast to min, halving per window, and grows it back once it answers', () => {
    const sim = simulation();
    sim.service.baseMs = 1;
    sim.run(3);
    sim.service.failedShare = 1;
    expect(sim.run(4)).toEqual([32, 16, 8, 4]);
    expect(sim.run(5).every((l) => l === 4)).toBe(true);
    sim.service.failedShare = 0;
    expect(sim.run(10).at(-1)).toBe(64);
  });

  it('leaves the limit alone for a failed share up to 10%, shrinks it for more', () => {
    const sim = simulation();
    sim.service.failedShare = 0.1;
    expect(sim.run(20).every((l) => l === 64)).toBe(true);
    sim.service.failedShare = 0.5;
    expect(sim.run(1)).toEqual([32]);
  });

  it('does not grow while fewer than half its slots are used (an idle service proves nothing)', () => {
    const sim = simulation();
    sim.service.failedShare = 1;
    sim.run(5);
    expect(sim.limit.limit()).toBe(4);
    sim.service.failedShare = 0;
    sim.service.demand = 3;
    const limits = sim.run(10);
    expect(Math.max(...limits)).toBeLessThanOrEqual(10); // grows while 3 >= limit / 2, then stops
    expect(limits.at(-1)).toBe(limits.at(-2));
  });

  it('moves only once a window has both its time and its samples', () => {
    let time = 0;
    const limit = createAdaptiveLimit({ min: 1, max: 10, now: () => time, minSamples: 5 });
    for (let i = 0; i < 4; i++) {
      time += 100;
      limit.sample({ rttMs: 1, failed: true, inFlight: 10 });
    }
    expect(limit.limit()).toBe(10);
    limit.sample({ rttMs: 1, failed: true, inFlight: 10 });
    expect(limit.limit()).toBe(5);
    // A new window: five more samples but no time passed.
    for (let i = 0; i < 5; i++) limit.sample({ rttMs: 1, failed: true, inFlight: 10 });
    expect(limit.limit()).toBe(5);
  });

  it('refuses a floor above the ceiling', () => {
    expect(() => createAdaptiveLimit({ min: 5, max: 4, now: () => 0 })).toThrow('adaptive limit needs 1 <= min <= max, got min 5, max 4');
  });

  it('a fixed limit is the configured cap whatever it is told', () => {
    const fixed = createFixedLimit(8);
    fixed.sample({ rttMs: 10_000, failed: true, inFlight: 8 });
    expect(fixed.limit()).toBe(8);
  });
});
