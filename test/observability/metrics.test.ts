import { describe, expect, it } from 'vitest';
import { breakerStateValue, createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { observeEverything, SERIES } from './observe-everything.js';
import { parsePrometheusText } from './prometheus-text.js';

async function scrape(metrics: Metrics) {
  const { body } = await metrics.render();
  return parsePrometheusText(body);
}

describe('createMetrics', () => {
  it('renders parsable Prometheus text with every named series, typed, after one observation each', async () => {
    const metrics = createMetrics({ tenantLabels: 'none' });
    observeEverything(metrics);
    const { contentType, body } = await metrics.render();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const parsed = parsePrometheusText(body);

    for (const [name, type] of Object.entries(SERIES)) {
      expect(parsed.types.get(name), name).toBe(type);
      expect(parsed.help.get(name)?.length ?? 0, `HELP of ${name}`).toBeGreaterThan(0);
      const samples = parsed.samples.filter((s) => s.name === name || s.name.startsWith(`${name}_`));
      expect(samples.length, `samples of ${name}`).toBeGreaterThan(0);
    }
    // Default process metrics are in the gateway's own registry.
    expect(parsed.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(parsed.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    const sample = (name: string, labels: Record<string, string>) =>
      parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(sample('graphql_requests_total', { plan: 'pro', status: 'ok', root_field: 'Query.product' })?.value).toBe(1);
    expect(sample('graphql_operation_cost_sum', { kind: 'requested', plan: 'pro' })?.value).toBe(12);
    expect(sample('graphql_operation_cost_sum', { kind: 'actual', plan: 'pro' })?.value).toBe(7);
    expect(sample('graphql_request_duration_seconds_bucket', { plan: 'pro', status: 'ok', le: '0.05' })?.value).toBe(1);
    expect(sample('graphql_request_duration_seconds_bucket', { plan: 'pro', status: 'ok', le: '0.025' })?.value).toBe(0);
    expect(sample('limit_check_duration_seconds_bucket', { source: 'shared', le: '0.0005' })?.value).toBe(1);
    expect(sample('redis_breaker_state', { component: 'limits' })?.value).toBe(2);
    expect(sample('usage_buffered_events', {})?.value).toBe(17);
  });

  it('keeps its own registry: two instances do not share series or collide', async () => {
    const a = createMetrics({ tenantLabels: 'none' });
    const b = createMetrics({ tenantLabels: 'none' });
    a.meteringBuffered.set(5);
    const fromB = await scrape(b);
    expect(fromB.samples.find((s) => s.name === 'usage_buffered_events')?.value).toBe(0);
  });

  it('tenantLabels \'none\': no tenant label value other than "all"', async () => {
    const metrics = createMetrics({ tenantLabels: 'none' });
    for (const tenant of ['acme', 'globex', 'initech']) observeEverything(metrics, tenant);
    expect(metrics.tenantLabel('acme')).toBe('all');
    const values = new Set((await scrape(metrics)).samples.flatMap((s) => (s.labels.tenant === undefined ? [] : [s.labels.tenant])));
    expect([...values]).toEqual(['all']);
  });

  it('tenantLabels as a list: listed tenants by id, everyone else "other"', async () => {
    const metrics = createMetrics({ tenantLabels: ['acme'] });
    for (const tenant of ['acme', 'globex', 'initech']) observeEverything(metrics, tenant);
    const parsed = await scrape(metrics);
    const values = new Set(parsed.samples.flatMap((s) => (s.labels.tenant === undefined ? [] : [s.labels.tenant])));
    expect([...values].sort()).toEqual(['acme', 'other']);
    const other = parsed.samples.find((s) => s.name === 'graphql_requests_total' && s.labels.tenant === 'other');
    expect(other?.value).toBe(2); // globex + initech, folded together
  });

  it("tenantLabels 'all': every tenant id", () => {
    const metrics = createMetrics({ tenantLabels: 'all' });
    expect(metrics.tenantLabel('globex')).toBe('globex');
  });

  it('runs onCollect callbacks before each scrape, and a throwing callback does not break the scrape', async () => {
    const metrics = createMetrics({ tenantLabels: 'none' });
    let state: 'closed' | 'half-open' | 'open' = 'closed';
    metrics.onCollect(() => metrics.downstreamBreaker.set({ service: 'orders' }, breakerStateValue(state)));
    metrics.onCollect(() => {
      throw new Error('meter stats unavailable');
    });
    const breaker = async () => (await scrape(metrics)).samples.find((s) => s.name === 'downstream_breaker_state' && s.labels.service === 'orders')?.value;
    expect(await breaker()).toBe(0);
    state = 'open';
    expect(await breaker()).toBe(2);
    state = 'half-open';
    expect(await breaker()).toBe(1);
    // Also when the registry is scraped directly rather than through render().
    state = 'open';
    expect(await metrics.registry.metrics()).toContain('downstream_breaker_state{service="orders"} 2');
    const failures = (await scrape(metrics)).samples.find((s) => s.name === 'metrics_collect_errors_total');
    expect(failures?.value).toBe(5);
  });

  it('escapes label values so the text stays parsable', async () => {
    const metrics = createMetrics({ tenantLabels: 'all' });
    metrics.requests.inc({ plan: 'p"1\\', status: 'ok', root_field: 'Query.x', tenant: 'line\nbreak' });
    const parsed = await scrape(metrics);
    const sample = parsed.samples.find((s) => s.name === 'graphql_requests_total');
    expect(sample?.labels).toEqual({ plan: 'p"1\\', status: 'ok', root_field: 'Query.x', tenant: 'line\nbreak' });
  });
});

describe('parsePrometheusText (the test parser itself)', () => {
  it('rejects malformed lines', () => {
    expect(() => parsePrometheusText('# TYPE x counter\nx{a="1" 1\n')).toThrow(/line 2/);
    expect(() => parsePrometheusText('# TYPE x counter\nx one\n')).toThrow(/bad value/);
    expect(() => parsePrometheusText('y 1\n')).toThrow(/no TYPE line/);
    expect(() => parsePrometheusText('# TYPE x counter\nx{a=1} 1\n')).toThrow(/not quoted/);
  });
});
