import type { PortalNowFieldsFragment } from './generated/operations';

export type UsageWindow = PortalNowFieldsFragment['windows'][number];
export type GaugeState = 'ok' | 'warn' | 'full';

/** Amber from 80% of a limit, red at 100% (the same thresholds as the gateway's alerts). */
export const WARN_RATIO = 0.8;

export function gaugeState(w: Pick<UsageWindow, 'used' | 'limit'>): GaugeState {
  if (w.limit <= 0 || w.used >= w.limit) return 'full';
  return w.used / w.limit >= WARN_RATIO ? 'warn' : 'ok';
}

/** What a window counts, in words. */
export function windowLabel(w: UsageWindow): string {
  switch (w.policy) {
    case 'minute':
      return 'Requests per rolling minute';
    case 'client-minute':
      return 'Requests per rolling minute from this API key';
    case 'ip-minute':
      return 'Requests per rolling minute from your IP address';
    case 'day':
      return 'Requests today (daily quota)';
    case 'month':
      return 'Requests this month (monthly quota)';
    case 'cost-minute':
      return 'Cost points per rolling minute';
    case 'bytes-hour':
      return 'Response bytes per rolling hour';
    case 'usage-minute':
      return 'Usage queries per rolling minute';
    default:
      return w.dimension === 'field' ? `Calls of ${w.policy} per ${w.window}` : `${w.policy} (${w.window})`;
  }
}

/** The plain sentence of what happens when the window is full. */
export function atLimitSentence(w: UsageWindow): string {
  switch (w.dimension) {
    case 'quota':
      return `At the limit every request is refused with HTTP 429 (RATE_LIMITED) until the quota resets at the start of the next ${w.policy === 'day' ? 'day' : 'month'} (${w.window}).`;
    case 'cost':
      return 'At the limit an operation costing more than the points left is refused with HTTP 429 before it runs; points come back as the minute rolls on.';
    case 'bandwidth':
      return 'At the limit requests are refused with HTTP 429 until earlier responses roll out of the hour.';
    case 'field':
      return `At the limit operations selecting ${w.policy} are refused with HTTP 429 until calls roll out of the window; other operations are served.`;
    default:
      return 'At the limit further requests are refused with HTTP 429 and a Retry-After header until earlier requests roll out of the window.';
  }
}
