import type { WindowView } from '../limits/windows.js';
import { bucketStart } from './buckets.js';
import { forecast, FORECAST_METHOD, PROFILE_DAYS } from './forecast.js';
import type { UsageStore, UsageTotals } from './store.js';

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
  method: string;
}

/** What a quota counts: admitted requests (throttled ones are refused before any charge). */
const admitted = (t: UsageTotals) => t.requests - t.throttled;

/**
 * A tenant's forecasts: each request quota in force (day, month: `used` and the reset from the
 * live windows, so they match the gauges), the UTC month's requests when no monthly quota is set,
 * and the UTC month's cost points. The pace comes from the last week of hourly history less the
 * free usage queries (forecast.ts has the method).
 */
export async function tenantForecasts(deps: { usage: UsageStore; tenantId: string; windows: readonly WindowView[]; now: number }): Promise<ForecastView[]> {
  const { usage, tenantId, now } = deps;
  const range = { granularity: 'hour' as const, from: bucketStart('hour', now) - PROFILE_DAYS * 24 * HOUR_MS, to: now };
  const [tenant, ...free] = await Promise.all([
    usage.history({ tenantId, ...range }),
    ...FREE_FIELDS.map((rootField) => usage.history({ tenantId, ...range, rootField })),
  ]);
  const series = (value: (t: UsageTotals) => number) =>
    tenant!.map((p, i) => ({ start: Date.parse(p.start), value: Math.max(0, value(p) - free.reduce((sum, f) => sum + value(f[i]!), 0)) }));
  const requests = series(admitted);
  const cost = series((t) => t.actualCost);

  const monthStart = bucketStart('month', now);
  const monthEnd = new Date(monthStart).setUTCMonth(new Date(monthStart).getUTCMonth() + 1);
  const monthToDate = async () => {
    const q = { tenantId, granularity: 'day' as const, from: monthStart, to: now };
    const [total, fields] = await Promise.all([usage.summary(q), usage.breakdown({ ...q, by: 'rootField' })]);
    const freeRows = fields.filter((f) => (FREE_FIELDS as readonly string[]).includes(f.key));
    return {
      requests: Math.max(0, admitted(total) - freeRows.reduce((sum, f) => sum + admitted(f.totals), 0)),
      cost: Math.max(0, total.actualCost - freeRows.reduce((sum, f) => sum + f.totals.actualCost, 0)),
    };
  };

  const views: ForecastView[] = [];
  const add = (metric: ForecastView['metric'], period: ForecastView['period'], policy: string | null, periodEnd: number, used: number, limit: number | null) => {
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
      method: FORECAST_METHOD,
    });
  };
  for (const w of deps.windows) {
    if (w.dimension === 'quota' && (w.policy === 'day' || w.policy === 'month')) add('requests', w.policy, w.policy, Date.parse(w.resetAt), w.used, w.limit);
  }
  const mtd = await monthToDate();
  if (!views.some((v) => v.period === 'month')) add('requests', 'month', null, monthEnd, mtd.requests, null);
  add('cost', 'month', null, monthEnd, mtd.cost, null);
  return views;
}
