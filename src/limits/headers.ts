import type { LimitDimension } from './dimensions.js';
import { calendarPeriod } from './store/calendar.js';
import type { DimensionResult } from './store/types.js';

/**
 * Response headers describing the limits in force:
 * - `X-RateLimit-Limit` / `-Remaining` / `-Reset` (Unix seconds) for the tightest request window
 *   (the request-counting dimension with the least remaining), the de facto convention;
 * - `RateLimit-Policy` and `RateLimit` per draft-ietf-httpapi-ratelimit-headers-10 for every active
 *   policy: `"minute";q=100;w=60` and `"minute";r=42;t=17` (t = seconds until the quota resets).
 */
export function rateLimitHeaders(dims: readonly LimitDimension[], results: readonly DimensionResult[], now: number): Record<string, string> {
  if (dims.length === 0 || results.length !== dims.length) return {};
  const headers: Record<string, string> = {};
  // Plain loops, no closures: this runs on every limited response.
  let tightest: DimensionResult | undefined;
  let policy = '';
  let current = '';
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const r = results[i]!;
    if (d.countsRequests && (!tightest || r.remaining < tightest.remaining || (r.remaining === tightest.remaining && r.resetAt < tightest.resetAt)))
      tightest = r;
    const separator = i === 0 ? '' : ', ';
    policy += `${separator}"${d.policy}";q=${r.limit};w=${windowOf(d, now)}`;
    current += `${separator}"${d.policy}";r=${r.remaining};t=${Math.max(0, Math.ceil((r.resetAt - now) / 1000))}`;
  }
  if (tightest) {
    headers['x-ratelimit-limit'] = String(tightest.limit);
    headers['x-ratelimit-remaining'] = String(tightest.remaining);
    headers['x-ratelimit-reset'] = String(Math.ceil(tightest.resetAt / 1000));
  }
  headers['ratelimit-policy'] = policy;
  headers.ratelimit = current;
  return headers;
}

/**
 * A calendar quota's window is the current day or month (28 to 31 days), so that `t` never
 * exceeds `w`; sliding windows are their configured length (`t` <= `w` by the store's resetAt).
 */
function windowOf(d: LimitDimension, now: number): number {
  return d.store.kind === 'calendar' ? periodSeconds(now, d.store.period, d.store.utcOffsetMinutes) : d.windowSeconds;
}

function periodSeconds(now: number, period: 'day' | 'month', utcOffsetMinutes: number): number {
  const { startsAt, endsAt } = calendarPeriod(now, period, utcOffsetMinutes);
  return Math.round((endsAt - startsAt) / 1000);
}
