import { bucketStart, nextBucket } from './buckets.js';
import { slaPeriod, type SlaPeriod, type SlaTarget } from './sla.js';
import type { UsageStore } from './store.js';

export interface SlaReport {
  target: SlaTarget;
  /** `YYYY-MM`, UTC. */
  month: string;
  total: SlaPeriod;
  /** Each UTC day of the month up to now, oldest first. */
  days: SlaPeriod[];
}

/** Parses `YYYY-MM` into the month's start (epoch ms, UTC), or null when malformed. */
export function monthStart(month: string): number | null {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, 1) : null;
}

/**
 * A tenant's SLA for one UTC month: each day (day buckets) and the month as a whole (the days'
 * histograms merged, so the month's p95 is of all its requests), up to `now`.
 */
export async function tenantSla(deps: { usage: UsageStore; tenantId: string; target: SlaTarget; month: number; now: number }): Promise<SlaReport> {
  const start = bucketStart('month', deps.month);
  const end = nextBucket('month', start);
  const last = Math.max(start, Math.min(end - 1, deps.now));
  const q = { tenantId: deps.tenantId, granularity: 'day' as const, from: start, to: last };
  const [days, total] = await Promise.all([deps.usage.history(q), deps.usage.summary(q)]);
  return {
    target: deps.target,
    month: new Date(start).toISOString().slice(0, 7),
    total: slaPeriod(total, deps.target, start, end),
    days: days.map((d) => {
      const t = Date.parse(d.start);
      return slaPeriod(d, deps.target, t, nextBucket('day', t));
    }),
  };
}
