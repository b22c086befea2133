import { useMemo } from 'preact/hooks';
import { bytes, count, ms, percent } from '../format';
import { cacheHitRate, throttleReasons, throttledBy, type HistoryPoint } from '../history';
import { color, TimeChart, type ChartSeries } from './TimeChart';

/** The history graphs: requests by outcome, cost, bytes, latency percentiles, cache hit rate. */
export function HistoryCharts(props: { points: HistoryPoint[] }) {
  const { points } = props;
  const charts = useMemo(() => {
    const starts = points.map((p) => p.start);
    const reasons = throttleReasons(points);
    const requests: ChartSeries[] = [
      { label: 'ok', values: points.map((p) => p.totals.ok), color: color(3) },
      { label: 'error', values: points.map((p) => p.totals.errors), color: color(1) },
      ...reasons.map((reason, i) => ({
        label: `throttled: ${reason}`,
        values: points.map((p) => throttledBy(p.totals, reason)),
        color: color(i === 0 ? 2 : 4 + i),
      })),
    ];
    return {
      starts,
      requests,
      cost: [
        { label: 'requested', values: points.map((p) => p.totals.requestedCost), color: color(0) },
        { label: 'actual', values: points.map((p) => p.totals.actualCost), color: color(4) },
      ],
      bytes: [{ label: 'response bytes', values: points.map((p) => p.totals.responseBytes), color: color(6) }],
      latency: [
        { label: 'p50', values: points.map((p) => p.totals.latencyP50Ms), color: color(3) },
        { label: 'p95', values: points.map((p) => p.totals.latencyP95Ms), color: color(2) },
        { label: 'p99', values: points.map((p) => p.totals.latencyP99Ms), color: color(1) },
      ],
      cache: [{ label: 'hit rate', values: points.map((p) => cacheHitRate(p.totals)), color: color(0) }],
    };
  }, [points]);

  return (
    <div class="charts">
      <TimeChart id="requests" title="Requests by outcome" starts={charts.starts} series={charts.requests} format={count} />
      <TimeChart id="cost" title="Cost points" starts={charts.starts} series={charts.cost} format={count} />
      <TimeChart id="bytes" title="Response bytes" starts={charts.starts} series={charts.bytes} format={bytes} />
      <TimeChart id="latency" title="Latency (ms)" starts={charts.starts} series={charts.latency} format={ms} />
      <TimeChart id="cache" title="Cache hit rate" starts={charts.starts} series={charts.cache} format={percent} />
    </div>
  );
}
