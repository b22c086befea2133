import type { PortalHistoryFieldsFragment, TotalsFragment, UsageGranularity } from './generated/operations';

export type HistoryData = PortalHistoryFieldsFragment;
/**
 * A bucket as the charts draw it: the portal's history and the console's fleet history are both.
 * `partial`: the bucket is still filling (the newest one), so its low counts are not a drop.
 */
export type HistoryPoint = { start: string; partial: boolean; totals: TotalsFragment };

/** The ranges the page offers, each with the granularity it opens at. */
export const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000, granularity: 'MINUTE' },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000, granularity: 'HOUR' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, granularity: 'HOUR' },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, granularity: 'DAY' },
  { id: '12mo', label: 'Last 12 months', ms: 365 * 86_400_000, granularity: 'MONTH' },
] as const satisfies readonly { id: string; label: string; ms: number; granularity: UsageGranularity }[];

export type RangeId = (typeof RANGES)[number]['id'];

export const GRANULARITIES: { id: UsageGranularity; label: string }[] = [
  { id: 'MINUTE', label: 'Minute' },
  { id: 'HOUR', label: 'Hour' },
  { id: 'DAY', label: 'Day' },
  { id: 'MONTH', label: 'Month' },
];

export interface HistorySelection {
  range: RangeId;
  granularity: UsageGranularity;
  /** One API key's or one root field's series instead of the tenant's totals. */
  filter: { kind: 'client' | 'rootField'; key: string } | null;
}

/** What the history opens at: the last 24 hours, hourly, every key and root field. */
export const DEFAULT_SELECTION: HistorySelection = { range: '24h', granularity: 'HOUR', filter: null };

export function historyVariables(sel: HistorySelection, now = Date.now()) {
  const range = RANGES.find((r) => r.id === sel.range)!;
  return {
    granularity: sel.granularity,
    from: new Date(now - range.ms).toISOString(),
    to: new Date(now).toISOString(),
    client: sel.filter?.kind === 'client' ? sel.filter.key : null,
    rootField: sel.filter?.kind === 'rootField' ? sel.filter.key : null,
  };
}

/** Throttle reasons present anywhere in the history, sorted, for one series each. */
export function throttleReasons(points: HistoryPoint[]): string[] {
  const reasons = new Set<string>();
  for (const p of points) for (const t of p.totals.throttledBy) reasons.add(t.reason);
  return [...reasons].sort();
}

export function throttledBy(t: TotalsFragment, reason: string): number {
  return t.throttledBy.find((r) => r.reason === reason)?.count ?? 0;
}

/** Cache hit rate in percent, null when no cached field was read. */
export function cacheHitRate(t: TotalsFragment): number | null {
  const all = t.cacheHits + t.cacheMisses;
  return all === 0 ? null : Math.round((t.cacheHits / all) * 10_000) / 100;
}

/**
 * The console's Status filter: '' (any), OK, ERROR, THROTTLED or THROTTLED:<dimension>. The
 * usage buckets count outcomes, not costs or latencies per outcome, so a status narrows counts
 * (requests, the By plan and By root field tables) and the cost chart (refused requests have
 * their own cost), and nothing else.
 */
export type StatusFilter = string;

/** Requests of `t` the status filter matches (all of them without one). */
export function matchingRequests(t: TotalsFragment, status: StatusFilter): number {
  const [outcome, dimension] = status.split(':');
  if (dimension) return throttledBy(t, dimension);
  switch (outcome) {
    case 'OK':
      return t.ok;
    case 'ERROR':
      return t.errors;
    case 'THROTTLED':
      return t.throttled;
    default:
      return t.requests;
  }
}

/** The status filter in words, for captions: "throttled by quota". */
export function statusLabel(status: StatusFilter): string {
  const [outcome, dimension] = status.split(':');
  if (dimension) return `throttled by ${dimension}`;
  return (outcome ?? '').toLowerCase();
}
