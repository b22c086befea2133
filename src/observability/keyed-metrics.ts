import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, rendered by prom-client's registry like its own
 * metrics (same text, same `# HELP` / `# TYPE`), but counted the cheap way: a series is found by
 * its label values (a map per label), and only a new series is checked. prom-client's own
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

/**
 * Series by their label values, one map per label: a label value is almost always a string the
 * process already holds (a plan id, a status), whose hash V8 keeps, so finding a series costs a
 * few map lookups and allocates nothing (joining the values into one key built a new string per call).
 */
class SeriesIndex<L extends string, S> {
  readonly #labelNames: readonly L[];
  readonly #root = new Map<string, unknown>();
  /** Every series, in the order they were made (the order they are rendered in). */
  readonly all: S[] = [];
  #unlabelled: S | undefined;

  constructor(labelNames: readonly L[]) {
    this.#labelNames = labelNames;
  }

  /** The series of `labels`, undefined until `add` made it. */
  find(labels: Readonly<Record<L, string>>): S | undefined {
    const names = this.#labelNames;
    if (names.length === 0) return this.#unlabelled;
    let level: Map<string, unknown> | undefined = this.#root;
    const last = names.length - 1;
    for (let i = 0; i < last && level !== undefined; i++) level = level.get(labels[names[i]!]) as Map<string, unknown> | undefined;
    return level?.get(labels[names[last]!]) as S | undefined;
  }

  /** Makes the series of `labels` (once: `find` came back empty). */
  add(labels: Readonly<Record<L, string>>, series: S): S {
    this.all.push(series);
    const names = this.#labelNames;
    if (names.length === 0) {
      this.#unlabelled = series;
      return series;
    }
    let level = this.#root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labels[names[i]!];
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    level.set(labels[names[last]!], series);
    return series;
  }

  clear(): void {
    this.#root.clear();
    this.all.length = 0;
    this.#unlabelled = undefined;
  }
}

/**
 * The labels a new series is rendered with: those of `labelNames` that `labels` gives, as strings
 * (prom-client's leniency: a label left out is left out of the series); a label this metric does
 * not have is refused, as prom-client refuses it. Checked once per series, not on every call.
 */
function seriesLabels<L extends string>(name: string, labelNames: readonly L[], labels: Readonly<Record<L, string>>): Record<string, string> {
  for (const label in labels) {
    if (!labelNames.includes(label)) throw new Error(`${name}: no label "${label}" (labels: ${labelNames.join(', ')})`);
  }
  const copy: Record<string, string> = {};
  for (const label of labelNames) {
    const value = labels[label];
    if (value !== undefined) copy[label] = String(value);
  }
  return copy;
}

/**
 * What a counter and a histogram share: name, help, label names, the series index, registration
 * in each registry given (prom-client's registry reads only `name` then, and the rest when it
 * renders), the rendered shape and `reset`. `inc` and `observe` stay in the subclasses and read
 * these fields directly: no call, closure or allocation through the base on the hot path.
 */
abstract class KeyedMetric<L extends string, S> implements RenderedMetric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly L[];
  protected readonly series: SeriesIndex<L, S>;

  constructor(options: KeyedOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.series = new SeriesIndex(options.labelNames);
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The labels a new series is rendered with (`seriesLabels`): once per series, never per call. */
  protected labelsOf(labels: Readonly<Record<L, string>>): Record<string, string> {
    return seriesLabels(this.name, this.labelNames, labels);
  }

  /** What prom-client's registry renders: this metric's name, help and type with `values`. */
  protected rendered(values: MetricValue[]) {
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  abstract get(): ReturnType<RenderedMetric['get']>;

  reset(): void {
    this.series.clear();
  }
}

export class KeyedCounter<L extends string = never> extends KeyedMetric<L, { labels: Record<string, string>; value: number }> {
  readonly type = 'counter' as const;

  inc(labels: Readonly<Record<L, string>>, value = 1): void {
    const series = this.series.find(labels) ?? this.series.add(labels, { labels: this.labelsOf(labels), value: 0 });
    series.value += value;
  }

  async get() {
    return this.rendered(this.series.all.map(({ labels, value }) => ({ labels, value })));
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last is above every bound (+Inf only). */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class KeyedHistogram<L extends string = never> extends KeyedMetric<L, HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly #buckets: readonly number[];

  constructor(options: KeyedOptions<L> & { buckets: readonly number[] }) {
    super(options);
    this.#buckets = [...options.buckets].sort((a, b) => a - b);
  }

  observe(labels: Readonly<Record<L, string>>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    const series =
      this.series.find(labels) ??
      this.series.add(labels, {
        labels: this.labelsOf(labels),
        counts: new Float64Array(this.#buckets.length + 1),
        sum: 0,
        count: 0,
      });
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
    for (const { labels, counts, sum, count } of this.series.all) {
      let cumulative = 0;
      for (let i = 0; i < this.#buckets.length; i++) {
        cumulative += counts[i]!;
        values.push({ labels: { le: this.#buckets[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return this.rendered(values);
  }
}
