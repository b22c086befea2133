import { sha256Hex } from '../config/hash.js';

export type AlertKind = 'limit_threshold' | 'anomaly' | 'redis_unavailable' | 'redis_recovered' | 'billing_unapplied';

/** One alert, as logged (`alert` field) and POSTed to the webhook (the JSON body). */
export interface AlertEvent {
  /**
   * Stable per (kind, tenant, policy, window, threshold) for limit thresholds and per (kind,
   * tenant, window) for anomalies: every instance derives the same id for the same event, and
   * retries carry it too, so receivers can dedupe. Redis transitions get a fresh id each.
   */
  id: string;
  kind: AlertKind;
  /** ISO 8601. */
  at: string;
  tenantId?: string;
  planId?: string;
  /** The limit's policy name (`day`, `month`, `cost-minute`, `bytes-hour`, ...). */
  policy?: string;
  threshold?: 80 | 100;
  used?: number;
  limit?: number;
  /** ISO 8601 end of the window the threshold was crossed in (see ./alerts.ts for sliding windows). */
  windowResetAt?: string;
  details?: Record<string, unknown>;
}

/** A 128-bit hex id derived from the parts, so it is the same on every instance. */
export function stableEventId(parts: readonly (string | number)[]): string {
  return sha256Hex(JSON.stringify(parts)).slice(0, 32);
}
