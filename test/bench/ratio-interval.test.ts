import { describe, expect, it } from 'vitest';
import { ratioInterval } from '../../bench/ratio-interval.js';

describe('bench: a ratio of medians with its bootstrap interval (ratioInterval)', () => {
  it('a variant 5 % slower in every round is 1.05x, however much the rounds differ: rounds are paired', () => {
    const base = [12, 40, 7, 25, 90, 15, 33, 8, 60, 21];
    const { ratio, low, high } = ratioInterval(
      base,
      base.map((p99) => p99 * 1.05),
    );
    expect(ratio).toBeCloseTo(1.05, 9);
    expect(low).toBeCloseTo(1.05, 9);
    expect(high).toBeCloseTo(1.05, 9);
  });

  it('two variants that only trade places between rounds: ratio 1, and an interval wide enough to say so', () => {
    const base = Array.from({ length: 20 }, (_, round) => (round % 2 === 0 ? 10 : 20));
    const variant = base.map((p99) => 30 - p99);
    const { ratio, low, high } = ratioInterval(base, variant);
    expect(ratio).toBe(1);
    expect(low).toBeLessThan(0.95);
    expect(high).toBeGreaterThan(1.05);
  });

  it('the same runs give the same interval (seeded), and mismatched runs are refused', () => {
    const base = [5, 9, 6, 14, 7, 8];
    const variant = [6, 8, 7, 15, 9, 8];
    expect(ratioInterval(base, variant)).toEqual(ratioInterval(base, variant));
    expect(() => ratioInterval(base, variant.slice(1))).toThrow(/one run of each variant per round/);
  });
});
