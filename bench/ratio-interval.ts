import { createRandom } from '../src/sample-services/prng.js';
import { median } from './measure.js';

/** A ratio of medians with the bounds of its bootstrap interval. */
export interface RatioInterval {
  ratio: number;
  low: number;
  high: number;
}

/**
 * The ratio of two variants' medians over their runs (`variant` / `base`), with a paired
 * bootstrap interval: rounds drawn again with replacement, each keeping its two runs together
 * (they ran in the same round, under the same moment of the machine), `resamples` times. On the
 * 2-core machine one run's p99 varied 3x between rounds; a ratio's interval says whether a
 * difference of a few percent is the variants' or the rounds'. Seeded, so a report is reproducible.
 */
export function ratioInterval(base: readonly number[], variant: readonly number[], confidence = 0.9, resamples = 2000): RatioInterval {
  if (base.length !== variant.length || base.length === 0) throw new Error('ratioInterval: one run of each variant per round');
  const random = createRandom(0x5eed);
  const rounds = base.length;
  const ratios = new Float64Array(resamples);
  const drawnBase = new Array<number>(rounds);
  const drawnVariant = new Array<number>(rounds);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < rounds; i++) {
      const round = random.int(0, rounds - 1);
      drawnBase[i] = base[round]!;
      drawnVariant[i] = variant[round]!;
    }
    ratios[r] = median(drawnVariant) / median(drawnBase);
  }
  ratios.sort();
  const tail = (1 - confidence) / 2;
  return {
    ratio: median(variant) / median(base),
    low: ratios[Math.floor(tail * (resamples - 1))]!,
    high: ratios[Math.ceil((1 - tail) * (resamples - 1))]!,
  };
}
