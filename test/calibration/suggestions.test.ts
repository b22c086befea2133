import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createCostAnalyzer } from '../../src/cost/analyzer.js';
import { withAssumedSizes } from '../../src/calibration/apply-sizes.js';
import { createCalibrationRecorder } from '../../src/calibration/recorder.js';
import { calibrationReport } from '../../src/calibration/report.js';
import { formatReport } from '../../src/calibration/calibrate-command.js';
import { COST_DIRECTIVES } from '../cost/support.js';

/**
 * Synthetic traffic with known list-size distributions: order i has 1 + i % 3 items (p95 3),
 * i % 20 reviews (0..19 uniform: nearest-rank p95 18), always 2 notes, and `orders(first:)`
 * returns what was asked for, up to 40.
 */
const SDL = `${COST_DIRECTIVES}
  type Query { orders(first: Int = 10): [Order!]! @listSize(slicingArguments: ["first"]) }
  type Order {
    id: ID!
    items: [Item!]! @listSize(assumedSize: 5)
    reviews: [Review!]!
    notes: [Note!]! @listSize(assumedSize: 2)
  }
  type Item { sku: String! product: Product! }
  type Review { stars: Int! author: Author! }
  type Product { name: String! }
  type Author { name: String! }
  type Note { text: String! }
`;

const ORDERS = 40;

function schemaWithData() {
  return makeExecutableSchema({
    typeDefs: SDL,
    resolvers: {
      Query: { orders: (_: unknown, args: { first: number }) => Array.from({ length: Math.min(args.first, ORDERS) }, (_, i) => ({ id: i })) },
      Order: {
        items: (o: { id: number }) => Array.from({ length: 1 + (o.id % 3) }, () => ({ sku: 's', product: { name: 'p' } })),
        reviews: (o: { id: number }) => Array.from({ length: o.id % 20 }, () => ({ stars: 5, author: { name: 'a' } })),
        notes: () => [{ text: 'a' }, { text: 'b' }],
      },
    },
  });
}

const QUERY = 'query Orders($first: Int) { orders(first: $first) { id items { sku product { name } } reviews { stars author { name } } notes { text } } }';

async function runTraffic(requests: number) {
  const schema = schemaWithData();
  const analyzer = createCostAnalyzer({ schema });
  const recorder = createCalibrationRecorder({ analyzer });
  const document = parse(QUERY);
  for (let i = 0; i < requests; i++) {
    // 20 or 40 orders: whole cycles of both distributions, so the quantiles are exact.
    const variables = { first: i % 2 === 0 ? 20 : 40 };
    const estimated = analyzer.estimate(document, 'Orders', variables).fieldCost;
    const result = await execute({ schema, document, variableValues: variables });
    expect(result.errors).toBeUndefined();
    const actual = analyzer.actual(document, 'Orders', variables, result.data);
    recorder.observe({ document, operationName: 'Orders', variables, data: result.data, estimated, actual });
  }
  return { schema, recorder };
}

describe('cost calibration on synthetic traffic', () => {
  it('suggests the observed p95 for assumed sizes, nothing for slicing arguments or sizes already right', async () => {
    const { schema, recorder } = await runTraffic(50);
    const report = calibrationReport(schema, recorder.observations());
    const byField = Object.fromEntries(report.fields.map((f) => [f.coordinate, f]));

    expect(byField['Order.items']).toMatchObject({ source: 'assumedSize', assumedSize: 5, p50: 2, p95: 3, max: 3, suggestedAssumedSize: 3 });
    expect(byField['Order.reviews']).toMatchObject({ source: 'defaultListSize', assumedSize: 10, p95: 18, max: 19, suggestedAssumedSize: 18 });
    expect(byField['Order.notes']).toMatchObject({ source: 'assumedSize', assumedSize: 2, p95: 2, suggestedAssumedSize: null });
    expect(byField['Query.orders']).toMatchObject({ source: 'slicingArgument', assumedSize: null, suggestedAssumedSize: null });
    // 50 requests x 30 orders on average.
    expect(byField['Order.items']!.lists).toBe(25 * 20 + 25 * 40);
    // Half the reviews lists are longer than the 10 the default prices: the estimate undercharges them today.
    expect(byField['Order.reviews']!.longerThanPriced).toBeCloseTo(9 / 20, 5);
  });

  it('after the suggestions, no field is priced below its p95; the ratio moves as the distributions say', async () => {
    const { schema, recorder } = await runTraffic(50);
    const report = calibrationReport(schema, recorder.observations());
    // Per order, estimate today: items 1 + 5 products, reviews 1 + 10 authors, notes 1 = 18; with
    // the suggestions 1 + 3, 1 + 18, 1 = 24. Actual per 20 orders: 3 x 20 list fields + 39 products
    // + 190 authors = 289 (+1 for orders). 20 orders: 361 / 290 today, 481 / 290 suggested.
    expect(report.current.medianRatio).toBe(1.243);
    // Reviews spread evenly over 0..19: pricing at their p95 (18) is 1.9 x their mean (9.5), so no
    // assumedSize at or above p95 brings this traffic's median ratio under 1.5 (README: the target).
    expect(report.suggested.medianRatio).toBe(1.657);
    expect(report.current.estimated).toBe(25 * 361 + 25 * 721);
    expect(report.current.actual).toBe(25 * 290 + 25 * 580);

    // The suggested schema, observed again: every assumed-size field now prices at least its p95.
    const suggested = withAssumedSizes(
      schema,
      new Map(report.fields.flatMap((f) => (f.suggestedAssumedSize === null ? [] : [[f.coordinate, f.suggestedAssumedSize]]))),
    );
    const again = createCalibrationRecorder({ analyzer: createCostAnalyzer({ schema: suggested }) });
    expect(recorder.observations().responses).toBe(50);
    const document = parse(QUERY);
    const executable = schemaWithData();
    for (const first of [20, 40]) {
      const result = await execute({ schema: executable, document, variableValues: { first } });
      again.observe({ document, operationName: 'Orders', variables: { first }, data: result.data, estimated: 0, actual: 0 });
    }
    const after = calibrationReport(suggested, again.observations(), { minLists: 1 });
    for (const field of after.fields) {
      if (field.assumedSize !== null) expect(field.assumedSize, field.coordinate).toBeGreaterThanOrEqual(field.p95);
    }
    expect(after.fields.filter((f) => f.suggestedAssumedSize !== null)).toEqual([]);
  });

  it('reports what each suggestion alone does to the estimates', async () => {
    const { schema, recorder } = await runTraffic(10);
    const report = calibrationReport(schema, recorder.observations(), { minLists: 1 });
    const items = report.effects.find((e) => e.coordinate === 'Order.items')!;
    // Each order's items are priced 3 instead of 5: 2 products (1 point each) less per order.
    expect(items).toMatchObject({ from: 5, to: 3, requestsChanged: 10 });
    expect(items.estimatedBefore - items.estimatedAfter).toBe(2 * (5 * 20 + 5 * 40));
  });

  it('prints the suggested @listSize edits and their effects (npm run cost -- calibrate)', async () => {
    const { schema, recorder } = await runTraffic(10);
    const text = formatReport(calibrationReport(schema, recorder.observations(), { minLists: 1 }));
    expect(text).toContain(
      'Suggested edits in schema/*.graphql:\n  Order.items: @listSize(assumedSize: 3)   # assumedSize 5 overcharges: 95 % of lists hold at most 3\n',
    );
    expect(text).toContain('  Order.reviews: @listSize(assumedSize: 18)   # assumedSize 10 undercharges: 95 % of lists hold at most 18\n');
    expect(text).toMatch(/^Order\.items\s+5 -> 3\s+10\s+\d+\s+\d+\s+-\d+(\.\d)? %$/m);
  });
});
