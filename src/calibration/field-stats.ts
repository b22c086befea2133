import type { PlanField } from '../cost/plan.js';
import { bucketOf, emptyCounts, type SizeCounts } from './size-histogram.js';

/** Where a field's priced list size came from, as the estimate chose it (cost/plan.ts `sizeFrom`). */
export type SizedBy = 'own' | 'parent' | 'default';

/** What was seen of one list field (`Order.items`) across the sampled responses. */
export interface FieldStats {
  coordinate: string;
  sizedBy: SizedBy;
  /** How many lists wrap its type: only the outer length is counted. */
  listDepth: number;
  /** Lists returned (one per parent object that had it). */
  lists: number;
  /** Sum of their lengths, for the mean. */
  sum: number;
  max: number;
  /** Lengths, in `size-histogram.ts` buckets. */
  counts: SizeCounts;
  /** Sum of the sizes the estimate priced these lists at. */
  estimatedSum: number;
  /** Lists longer than the size they were priced at: the estimate undercharged them. */
  longerThanPriced: number;
}

/**
 * Per field statistics, keyed by schema coordinate: bounded by the schema's list fields, whatever
 * the traffic (coordinates come from the compiled plan, never from the response).
 */
export function createFieldStats() {
  const fields = new Map<string, FieldStats>();
  return {
    add(field: PlanField, returned: number, estimated: number): void {
      let stats = fields.get(field.coordinate);
      if (!stats) {
        stats = {
          coordinate: field.coordinate,
          sizedBy: field.sizeFrom === 'none' ? 'default' : field.sizeFrom,
          listDepth: field.listDepth,
          lists: 0,
          sum: 0,
          max: 0,
          counts: emptyCounts(),
          estimatedSum: 0,
          longerThanPriced: 0,
        };
        fields.set(field.coordinate, stats);
      }
      stats.lists += 1;
      stats.sum += returned;
      if (returned > stats.max) stats.max = returned;
      stats.counts[bucketOf(returned)]! += 1;
      stats.estimatedSum += estimated;
      if (returned > estimated) stats.longerThanPriced += 1;
    },
    /** Copies, so a report is not changed by requests that arrive while it is made. */
    snapshot(): FieldStats[] {
      return [...fields.values()].map((s) => ({ ...s, counts: [...s.counts] }));
    },
  };
}
