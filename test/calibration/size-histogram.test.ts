import { describe, expect, it } from 'vitest';
import { bucketOf, emptyCounts, quantileOf, SIZE_BUCKET_EDGES } from '../../src/calibration/size-histogram.js';

function histogramOf(sizes: number[]) {
  const counts = emptyCounts();
  for (const size of sizes) counts[bucketOf(size)]! += 1;
  return { counts, max: Math.max(...sizes) };
}

/** Nearest-rank quantile of the raw values: what the histogram approximates. */
function exactQuantile(sizes: number[], q: number): number {
  const sorted = [...sizes].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('list size histogram', () => {
  it('is exact up to 32', () => {
    const sizes = Array.from({ length: 1000 }, (_, i) => (i * 7) % 33);
    const { counts, max } = histogramOf(sizes);
    for (const q of [0.5, 0.9, 0.95, 0.99]) expect(quantileOf(counts, q, max), `q ${q}`).toBe(exactQuantile(sizes, q));
  });

  it('above 32 answers at most 25 % high and never low, up to a million', () => {
    // A long tail: sizes from 0 to about 200,000.
    const sizes = Array.from({ length: 5000 }, (_, i) => Math.floor(1.0025 ** i));
    const { counts, max } = histogramOf(sizes);
    for (const q of [0.5, 0.9, 0.95, 0.99, 1]) {
      const exact = exactQuantile(sizes, q);
      const approx = quantileOf(counts, q, max)!;
      expect(approx, `q ${q}`).toBeGreaterThanOrEqual(exact);
      expect(approx, `q ${q}`).toBeLessThanOrEqual(Math.ceil(exact * 1.25));
    }
  });

  it('puts sizes past a million in the overflow bucket, answered by the max', () => {
    const { counts, max } = histogramOf([5, 2_000_000, 3_000_000]);
    expect(counts.at(-1)).toBe(2);
    expect(quantileOf(counts, 0.95, max)).toBe(3_000_000);
    expect(SIZE_BUCKET_EDGES.at(-1)).toBe(1_000_000);
    expect(counts).toHaveLength(SIZE_BUCKET_EDGES.length + 1);
  });

  it('has no quantile when empty', () => {
    expect(quantileOf(emptyCounts(), 0.5, 0)).toBeNull();
  });
});
