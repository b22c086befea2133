import { isObjectType, parse, type GraphQLSchema } from 'graphql';
import { createCostAnalyzer, type CostAnalyzer } from '../cost/analyzer.js';
import { listSizeOf } from '../cost/directives.js';
import { withAssumedSizes } from './apply-sizes.js';
import type { FieldStats } from './field-stats.js';
import type { OperationSample } from './operation-samples.js';
import type { CalibrationObservations } from './recorder.js';
import { quantileOf } from './size-histogram.js';

/** How the estimate sizes a list field today. */
export type SizeSource = 'assumedSize' | 'slicingArgument' | 'parentSlicingArgument' | 'defaultListSize';

export interface FieldCalibration {
  coordinate: string;
  source: SizeSource;
  /** The declared `assumedSize`, or the default list size for a field without one; null when a slicing argument sizes it. */
  assumedSize: number | null;
  lists: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
  /** Mean size the estimate priced these lists at. */
  meanPriced: number;
  /** Share of lists longer than they were priced (0..1). */
  longerThanPriced: number;
  /** The `assumedSize` to declare, or null: nothing to change, too few lists, or a slicing argument sizes the field. */
  suggestedAssumedSize: number | null;
  /** Why (or why not), in a sentence. */
  reason: string;
}

/** The estimated / actual cost ratios of the observed operations, weighted by their requests. */
export interface RatioSummary {
  medianRatio: number | null;
  p95Ratio: number | null;
  /** Sum of estimated costs over the observed requests. */
  estimated: number;
  /** Sum of their actual costs. */
  actual: number;
}

export interface SuggestionEffect {
  coordinate: string;
  from: number;
  to: number;
  /** Observed requests whose estimate would change. */
  requestsChanged: number;
  /** Sum of estimates over the observed requests, before and with this suggestion alone. */
  estimatedBefore: number;
  estimatedAfter: number;
}

export interface CalibrationReport {
  responses: number;
  operations: number;
  operationsDropped: number;
  fields: FieldCalibration[];
  /** As priced today, and with every suggestion applied. */
  current: RatioSummary;
  suggested: RatioSummary;
  effects: SuggestionEffect[];
}

export interface ReportOptions {
  /** Lists seen before a field gets a suggestion, default 20. */
  minLists?: number;
  /** The analyzer's default list size, default 10. */
  defaultListSize?: number;
}

/**
 * Suggestions from what was observed. A field sized by `assumedSize` or by the default list size
 * gets `assumedSize` = its observed p95 (at least 1, so what it holds is still priced), when that
 * differs from today's: the estimate then lies at or above 95 % of the lists returned, and not far
 * above. A slicing argument is the client's own bound on the list, so a field it sizes gets no
 * suggestion: its estimate is what the client asked for. Every suggestion's effect is measured
 * by pricing the observed operations again under the changed schema.
 */
export function calibrationReport(schema: GraphQLSchema, observed: CalibrationObservations, options: ReportOptions = {}): CalibrationReport {
  const minLists = options.minLists ?? 20;
  const defaultListSize = options.defaultListSize ?? 10;
  const fields = observed.fields
    .map((stats) => fieldCalibration(schema, stats, minLists, defaultListSize))
    .sort((a, b) => (a.coordinate < b.coordinate ? -1 : 1));
  const suggestions = new Map<string, number>();
  for (const f of fields) if (f.suggestedAssumedSize !== null) suggestions.set(f.coordinate, f.suggestedAssumedSize);

  const current = observed.operations.map((s) => ({ sample: s, estimated: s.estimated }));
  const suggestedAnalyzer = analyzerFor(schema, suggestions, defaultListSize);
  const effects: SuggestionEffect[] = [];
  for (const f of fields) {
    if (f.suggestedAssumedSize === null) continue;
    const alone = analyzerFor(schema, new Map([[f.coordinate, f.suggestedAssumedSize]]), defaultListSize);
    let requestsChanged = 0;
    let estimatedBefore = 0;
    let estimatedAfter = 0;
    for (const { sample, estimated } of current) {
      const after = priceAgain(alone, sample);
      estimatedBefore += estimated * sample.requests;
      estimatedAfter += after * sample.requests;
      if (after !== estimated) requestsChanged += sample.requests;
    }
    effects.push({
      coordinate: f.coordinate,
      from: f.assumedSize ?? defaultListSize,
      to: f.suggestedAssumedSize,
      requestsChanged,
      estimatedBefore,
      estimatedAfter,
    });
  }
  return {
    responses: observed.responses,
    operations: observed.operations.length,
    operationsDropped: observed.operationsDropped,
    fields,
    current: ratioSummary(current),
    suggested: ratioSummary(observed.operations.map((s) => ({ sample: s, estimated: priceAgain(suggestedAnalyzer, s) }))),
    effects,
  };
}

function fieldCalibration(schema: GraphQLSchema, stats: FieldStats, minLists: number, defaultListSize: number): FieldCalibration {
  const [typeName, fieldName] = stats.coordinate.split('.') as [string, string];
  const type = schema.getType(typeName);
  const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
  const declared = field ? listSizeOf(schema, field) : null;
  const source: SizeSource =
    stats.sizedBy === 'parent'
      ? 'parentSlicingArgument'
      : stats.sizedBy === 'default'
        ? 'defaultListSize'
        : declared && declared.slicingArguments.length > 0
          ? 'slicingArgument'
          : 'assumedSize';
  const assumedSize = source === 'assumedSize' ? (declared?.assumedSize ?? defaultListSize) : source === 'defaultListSize' ? defaultListSize : null;
  const p95 = quantileOf(stats.counts, 0.95, stats.max) ?? 0;
  const base = {
    coordinate: stats.coordinate,
    source,
    assumedSize,
    lists: stats.lists,
    p50: quantileOf(stats.counts, 0.5, stats.max) ?? 0,
    p95,
    max: stats.max,
    mean: stats.lists === 0 ? 0 : stats.sum / stats.lists,
    meanPriced: stats.lists === 0 ? 0 : stats.estimatedSum / stats.lists,
    longerThanPriced: stats.lists === 0 ? 0 : stats.longerThanPriced / stats.lists,
  };
  const keep = (reason: string): FieldCalibration => ({ ...base, suggestedAssumedSize: null, reason });
  if (assumedSize === null) return keep('sized by the slicing argument the client gives: the estimate is the size asked for');
  if (stats.listDepth > 1) return keep('a nested list: sized per level, not suggested');
  if (stats.lists < minLists) return keep(`${stats.lists} lists seen; ${minLists} needed for a suggestion`);
  const suggested = Math.max(1, p95);
  if (suggested === assumedSize) return keep(`assumedSize ${assumedSize} is the observed p95`);
  const direction = suggested > assumedSize ? 'undercharges' : 'overcharges';
  return { ...base, suggestedAssumedSize: suggested, reason: `assumedSize ${assumedSize} ${direction}: 95 % of lists hold at most ${p95}` };
}

function analyzerFor(schema: GraphQLSchema, sizes: ReadonlyMap<string, number>, defaultListSize: number): CostAnalyzer {
  return createCostAnalyzer({ schema: withAssumedSizes(schema, sizes), defaultListSize });
}

/** The estimate of a sample under another schema's sizes; its recorded estimate if it cannot be priced there. */
function priceAgain(analyzer: CostAnalyzer, sample: OperationSample): number {
  try {
    return analyzer.estimate(parse(sample.query), sample.operationName, sample.variables).fieldCost;
  } catch {
    return sample.estimated;
  }
}

function ratioSummary(priced: { sample: OperationSample; estimated: number }[]): RatioSummary {
  const ratios: { ratio: number; weight: number }[] = [];
  let estimated = 0;
  let actual = 0;
  for (const { sample, estimated: e } of priced) {
    estimated += e * sample.requests;
    actual += sample.actualSum;
    const meanActual = sample.actualSum / sample.requests;
    // An operation that returned nothing to charge has no ratio (it would be infinite).
    if (meanActual > 0) ratios.push({ ratio: e / meanActual, weight: sample.requests });
  }
  return { medianRatio: weightedQuantile(ratios, 0.5), p95Ratio: weightedQuantile(ratios, 0.95), estimated, actual };
}

function weightedQuantile(values: { ratio: number; weight: number }[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a.ratio - b.ratio);
  const total = sorted.reduce((sum, v) => sum + v.weight, 0);
  let seen = 0;
  for (const v of sorted) {
    seen += v.weight;
    if (seen >= q * total) return Math.round(v.ratio * 1000) / 1000;
  }
  return Math.round(sorted[sorted.length - 1]!.ratio * 1000) / 1000;
}
