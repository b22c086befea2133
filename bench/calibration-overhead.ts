/**
 * `npx tsx bench/calibration-overhead.ts`: what cost calibration adds to a sampled response,
 * against what the actual cost (computed for every response) already takes, on the same
 * response in the same run: `orders(first: 20)` with 1 to 5 line items per order. Not a scenario of
 * `npm run bench`: it measures one function call in process, no HTTP.
 */
import { parse } from 'graphql';
import { createCalibrationRecorder } from '../src/calibration/recorder.js';
import { createCostAnalyzer } from '../src/cost/analyzer.js';
import { buildSchema } from '../src/wiring/build-schema.js';

const schema = await buildSchema();
const analyzer = createCostAnalyzer({ schema });
const document = parse('{ orders(first: 20) { edges { node { id status items { quantity product { name } } total { formatted } } } } }');
const orders = Array.from({ length: 20 }, (_, i) => ({
  node: {
    id: `o${i}`,
    status: 'PAID',
    items: Array.from({ length: 1 + (i % 5) }, () => ({ quantity: 1, product: { name: 'x' } })),
    total: { formatted: '$1' },
  },
}));
const data = { orders: { edges: orders } };
const recorder = createCalibrationRecorder({ analyzer });
const estimated = analyzer.estimate(document, null, {}).fieldCost;
const N = 20_000;
const perCall = (fn: () => void) => {
  const start = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - start) / N) * 1000;
};
for (let round = 1; round <= 5; round++) {
  const actual = perCall(() => analyzer.actual(document, null, {}, data));
  const observe = perCall(() => recorder.observe({ document, operationName: null, variables: {}, data, estimated, actual: 100 }));
  console.log(`round ${round}: actual cost ${actual.toFixed(2)} µs, calibration observe ${observe.toFixed(2)} µs, ratio ${(observe / actual).toFixed(2)}`);
}
