import type { WindowView } from '../limits/windows.js';
import { bucketStart } from './buckets.js';
import { forecast, FORECAST_METHOD, PROFILE_DAYS } from './forecast.js';
import type { BucketCounts, UsageStore } from './store.js';

const HOUR_MS = 3_600_000;
/** Root fields whose requests the limits do not charge (free-operations.ts): not part of a quota's pace. */
const FREE_FIELDS = ['Query.usage', 'Query.rateLimit'] as const;

export interface ForecastView {
  metric: 'requests' | 'cost';
  period: 'day' | 'month';
  policy: string | null;
  periodEnd: string;
  used: number;
  limit: number | null;
  projected: number;
  exhaustsAt: string | null;
  ratePerHour: number;
  activeHours: number;
  enoughHistory: boolean;
  method: string;
}

/** What a quota counts: admitted requests (throttled ones are refused before any charge). */
const admitted = (t: BucketCounts) => t.requests - t.throttled;

/**
 * A tenant's forecasts: each request quota in force (day, month: `used` and the reset from the
 * live windows, so they match the gauges), the UTC month's requests when no monthly quota is set,
 * and the UTC month's cost points. The pace comes from the last week of hourly history less the
 * free usage queries (forecast.ts has the method).
 */
export async function tenantForecasts(deps: { usage: UsageStore; tenantId: string; windows: readonly WindowView[]; now: number }): Promise<ForecastView[]> {
  const { usage, tenantId, now } = deps;
  const monthStart = bucketStart('month', now);
  const monthEnd = new Date(monthStart).setUTCMonth(new Date(monthStart).getUTCMonth() + 1);
  // The tenant's buckets and its free fields' (same order): a week of hours for the pace, the
  // month's days for what is used so far. Counts only (usage.counts): no histograms to decode.
  const series = [null, ...FREE_FIELDS];
  const [hourly, daily] = await Promise.all([
    usage.counts({ tenantId, series, granularity: 'hour', from: bucketStart('hour', now) - PROFILE_DAYS * 24 * HOUR_MS, to: now }),
    usage.counts({ tenantId, series, granularity: 'day', from: monthStart, to: now }),
  ]);
  const [tenant, ...free] = hourly as [BucketCounts[], ...BucketCounts[][]];
  const paced = (value: (c: BucketCounts) => number) =>
    tenant.map((p, i) => ({ start: p.start, value: Math.max(0, value(p) - free.reduce((sum, f) => sum + value(f[i]!), 0)) }));
  const requests = paced(admitted);
  const cost = paced((c) => c.actualCostMilli / 1000);

  // Month to date: the tenant's sums less its free fields' sums (clamped once, on the totals;
  // costs summed in milli-points, so the sums are exact).
  const [tenantDays, ...freeDays] = daily as [BucketCounts[], ...BucketCounts[][]];
  const sum = (days: BucketCounts[], value: (c: BucketCounts) => number) => days.reduce((total, d) => total + value(d), 0);
  const monthToDate = (value: (c: BucketCounts) => number, scale = 1) =>
    Math.max(0, sum(tenantDays, value) / scale - freeDays.reduce((total, days) => total + sum(days, value) / scale, 0));
  const mtd = { requests: monthToDate(admitted), cost: monthToDate((c) => c.actualCostMilli, 1000) };

  const views: ForecastView[] = [];
  const add = (
    metric: ForecastView['metric'],
    period: ForecastView['period'],
    policy: string | null,
    periodEnd: number,
    used: number,
    limit: number | null,
  ) => {
    const f = forecast({ now, periodEnd, used, limit, hourly: metric === 'requests' ? requests : cost });
    views.push({
      metric,
      period,
      policy,
      periodEnd: new Date(periodEnd).toISOString(),
      used,
      limit,
      projected: f.projected,
      exhaustsAt: f.exhaustsAt === null ? null : new Date(f.exhaustsAt).toISOString(),
      ratePerHour: f.ratePerHour,
      activeHours: f.activeHours,
      enoughHistory: f.enoughHistory,
      method: FORECAST_METHOD,
    });
  };
  for (const w of deps.windows) {
    if (w.dimension === 'quota' && (w.policy === 'day' || w.policy === 'month')) add('requests', w.policy, w.policy, Date.parse(w.resetAt), w.used, w.limit);
  }
  if (!views.some((v) => v.period === 'month')) add('requests', 'month', null, monthEnd, mtd.requests, null);
  add('cost', 'month', null, monthEnd, mtd.cost, null);
  return views;
}
