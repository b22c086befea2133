import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { KeyedCounter, KeyedHistogram } from '../../src/observability/keyed-metrics.js';

/** The same observations through prom-client's own metrics and the keyed ones: /metrics must read the same. */
describe('keyed metrics', () => {
  it('render exactly what prom-client renders for the same counts and observations', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const options = { name: 'graphql_requests_total', help: 'Requests, by plan and status', labelNames: ['plan', 'status'] as const };
    const theirCounter = new Counter({ ...options, labelNames: [...options.labelNames], registers: [theirs] });
    const ourCounter = new KeyedCounter({ ...options, registers: [ours] });
    const histogram = { name: 'graphql_request_duration_seconds', help: 'Duration', labelNames: ['plan'] as const, buckets: [0.005, 0.05, 0.5, 5] };
    const theirHistogram = new Histogram({ ...histogram, labelNames: [...histogram.labelNames], registers: [theirs] });
    const ourHistogram = new KeyedHistogram({ ...histogram, registers: [ours] });
    const steps: [string, string, number][] = [
      ['free', 'ok', 0.001],
      ['free', 'throttled', 0.005],
      ['pro', 'ok', 0.0051],
      ['free', 'ok', 0.7],
      ['pro', 'error', 12],
      ['free', 'ok', 0.05],
    ];
    for (const [plan, status, seconds] of steps) {
      theirCounter.inc({ plan, status });
      ourCounter.inc({ plan, status });
      theirCounter.inc({ plan, status }, 2.5);
      ourCounter.inc({ plan, status }, 2.5);
      theirHistogram.observe({ plan }, seconds);
      ourHistogram.observe({ plan }, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('graphql_request_duration_seconds_bucket{le="0.005",plan="free"} 2');
    expect(text).toContain('graphql_requests_total{plan="free",status="ok"} 10.5');
  });

  it('refuses a label the metric does not have, and a value that is not a number', () => {
    const counter = new KeyedCounter({ name: 'c_total', help: 'c', labelNames: ['plan'], registers: [] });
    expect(() => counter.inc({ plan: 'free', tenant: 'acme' } as { plan: string })).toThrow(/no label "tenant"/);
    const histogram = new KeyedHistogram({ name: 'h', help: 'h', labelNames: ['plan'], buckets: [1], registers: [] });
    expect(() => histogram.observe({ plan: 'free' }, Number.NaN)).toThrow(/not a finite number/);
  });
});
