import { useMemo } from 'preact/hooks';
import { bytes, count, ms, percent } from '../format';
import { cacheHitRate, statusLabel, throttleReasons, throttledBy, type HistoryPoint, type StatusFilter } from '../history';
import { color, TimeChart, type ChartSeries } from './TimeChart';

/** The requests-by-outcome series the status filter keeps (all of them without one). */
function requestSeries(points: HistoryPoint[], status: StatusFilter): ChartSeries[] {
  const [outcome, dimension] = status.split(':');
  // A dimension asked for gets its series even when nothing was refused by it: an empty line says so.
  const reasons = dimension ? [dimension] : throttleReasons(points);
  const throttled = reasons.map((reason, i) => ({
    label: `throttled: ${reason}`,
    values: points.map((p) => throttledBy(p.totals, reason)),
    color: color(i === 0 ? 2 : 4 + i),
  }));
  const ok = { label: 'ok', values: points.map((p) => p.totals.ok), color: color(3) };
  const error = { label: 'error', values: points.map((p) => p.totals.errors), color: color(1) };
  if (outcome === 'OK') return [ok];
  if (outcome === 'ERROR') return [error];
  if (outcome === 'THROTTLED') return throttled;
  return [ok, error, ...throttled];
}

/**
 * The cost series: what ran (estimated and actual). Refused requests never ran, so their
 * estimates are not requested cost: one refused 50,000-point operation would flatten every other
 * value. Under a throttled status filter the chart shows exactly those refused estimates.
 */
function costChart(points: HistoryPoint[], status: StatusFilter): { series: ChartSeries[]; note: string | null } {
  if (status.startsWith('THROTTLED')) {
    return {
      series: [{ label: 'refused (estimate)', values: points.map((p) => p.totals.refusedCost), color: color(2) }],
      note: status.includes(':') ? 'Estimated cost of every refused request: cost is not kept per limit.' : null,
    };
  }
  const refused = points.reduce((sum, p) => sum + p.totals.refusedCost, 0);
  const series = [
    { label: 'requested', values: points.map((p) => p.totals.requestedCost), color: color(0) },
    { label: 'actual', values: points.map((p) => p.totals.actualCost), color: color(4) },
  ];
  const parts = [
    status ? 'Cost of every request that ran (ok and error): cost is not kept per outcome.' : null,
    refused > 0 ? `Refused requests are left out: they never ran (${count(refused)} points estimated in this range).` : null,
  ].filter(Boolean);
  return { series, note: parts.length > 0 ? parts.join(' ') : null };
}

/**
 * The history graphs: requests by outcome, cost, bytes, latency percentiles, cache hit rate.
 * `status` (the console's Status filter) narrows the requests and cost charts; bytes, latency
 * and cache are kept per bucket for all outcomes together, which their captions then say.
 */
export function HistoryCharts(props: { points: HistoryPoint[]; status?: StatusFilter }) {
  const { points } = props;
  const status = props.status ?? '';
  const charts = useMemo(() => {
    const cost = costChart(points, status);
    return {
      starts: points.map((p) => p.start),
      partialFrom: points.findIndex((p) => p.partial),
      requests: requestSeries(points, status),
      cost: cost.series,
      costNote: cost.note,
      bytes: [{ label: 'response bytes', values: points.map((p) => p.totals.responseBytes), color: color(6) }],
      latency: [
        { label: 'p50', values: points.map((p) => p.totals.latencyP50Ms), color: color(3) },
        { label: 'p95', values: points.map((p) => p.totals.latencyP95Ms), color: color(2) },
        { label: 'p99', values: points.map((p) => p.totals.latencyP99Ms), color: color(1) },
      ],
      cache: [{ label: 'hit rate', values: points.map((p) => cacheHitRate(p.totals)), color: color(0) }],
    };
  }, [points, status]);
  const allOutcomes = status ? `Of every outcome, not only ${statusLabel(status)}: kept per bucket, not per outcome.` : null;
  const common = { starts: charts.starts, partialFrom: charts.partialFrom };

  return (
    <div class="charts">
      <TimeChart
        id="requests"
        title={status ? `Requests: ${statusLabel(status)}` : 'Requests by outcome'}
        series={charts.requests}
        format={count}
        {...common}
      />
      <TimeChart id="cost" title="Cost points" series={charts.cost} format={count} note={charts.costNote} {...common} />
      <TimeChart id="bytes" title="Response bytes" series={charts.bytes} format={bytes} note={allOutcomes} {...common} />
      <TimeChart id="latency" title="Latency (ms)" series={charts.latency} format={ms} note={allOutcomes} {...common} />
      <TimeChart id="cache" title="Cache hit rate" series={charts.cache} format={percent} note={allOutcomes} {...common} />
    </div>
  );
}
