import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, rendered by prom-client's registry like its own
 * metrics (same text, same `# HELP` / `# TYPE`), but counted the cheap way: a series is found by
 * its label values joined into one string, and only a new series is checked. prom-client's own
 * `inc` / `observe` validate every label and hash a sorted copy of the label object on every
 * call: with a counter and four histogram observations per request that was about 10 µs of a
 * cheap request's CPU (a CPU profile of `npm run bench -- overhead`), and more on every refusal.
 */

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What prom-client's registry asks of a metric it renders (`registerMetric`). */
interface RenderedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

interface KeyedOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

/** The series key of `labels`: their values in `labelNames` order (a label value never holds a NUL). */
function keyOf<L extends string>(labelNames: readonly L[], labels: Readonly<Record<L, string>>): string {
  let key = '';
  for (let i = 0; i < labelNames.length; i++) key += `${labels[labelNames[i]!]}\0`;
  return key;
}

/** A copy of `labels` with exactly `labelNames`, each a string: checked once per series, as prom-client checks every call. */
function seriesLabels<L extends string>(name: string, labelNames: readonly L[], labels: Readonly<Record<L, string>>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const label of labelNames) {
    const value = labels[label];
    if (typeof value !== 'string') throw new TypeError(`${name}: label "${label}" must be a string, got ${String(value)}`);
    copy[label] = value;
  }
  return copy;
}

export class KeyedCounter<L extends string = never> implements RenderedMetric {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly L[];
  readonly #series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(options: KeyedOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  inc(labels: Readonly<Record<L, string>>, value = 1): void {
    const key = keyOf(this.#labelNames, labels);
    const series = this.#series.get(key);
    if (series) series.value += value;
    else this.#series.set(key, { labels: seriesLabels(this.name, this.#labelNames, labels), value });
  }

  async get() {
    const values = [...this.#series.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last is above every bound (+Inf only). */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class KeyedHistogram<L extends string = never> implements RenderedMetric {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly L[];
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(options: KeyedOptions<L> & { buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    this.#buckets = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  observe(labels: Readonly<Record<L, string>>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    const key = keyOf(this.#labelNames, labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: seriesLabels(this.name, this.#labelNames, labels), counts: new Float64Array(this.#buckets.length + 1), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    const buckets = this.#buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  /** As prom-client renders a histogram: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  async get() {
    const values: MetricValue[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#buckets.length; i++) {
        cumulative += counts[i]!;
        values.push({ labels: { le: this.#buckets[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}
