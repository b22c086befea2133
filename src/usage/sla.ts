import type { UsageTotals } from './store.js';

/** A plan's service-level targets (config `plans.<id>.sla`). */
export interface SlaTarget {
  /** Percent of counted requests served without a failure, e.g. 99.9. */
  availability: number;
  /** The period's p95 latency at most this, ms. */
  latencyP95Ms: number;
}

/** Throttle reasons that are the gateway's failure, not the tenant's limits at work. */
export const GATEWAY_REFUSALS = ['unavailable'] as const;

export const SLA_DEFINITION =
  'Counted: every request except those refused because the tenant was over its own limits. ' +
  'Failures: responses with HTTP 5xx or an error coded INTERNAL_SERVER_ERROR, DOWNSTREAM_UNAVAILABLE or ' +
  'DOWNSTREAM_TIMEOUT (the gateway or a service behind it failed), and refusals because the limit store was ' +
  'unavailable. Client errors (bad input, FORBIDDEN, validation, cost over the maximum) do not count. ' +
  'Availability = 1 - failures / counted. Latency: the p95 of all requests in the period, from the latency ' +
  'histogram. A period breaches when availability is below its target or the p95 above its target; a period ' +
  'without requests meets both.';

export interface SlaPeriod {
  /** ISO start and end (exclusive) of the period. */
  start: string;
  end: string;
  counted: number;
  failures: number;
  /** Percent, 3 decimals; null without counted requests. */
  availability: number | null;
  latencyP95Ms: number | null;
  /** Which targets the period missed: `availability`, `latency`. */
  breached: ('availability' | 'latency')[];
}

export function slaPeriod(totals: UsageTotals, target: SlaTarget, start: number, end: number): SlaPeriod {
  const gatewayRefusals = GATEWAY_REFUSALS.reduce((sum, reason) => sum + (totals.throttledBy[reason] ?? 0), 0);
  const counted = totals.requests - totals.throttled + gatewayRefusals;
  const failures = totals.faults + gatewayRefusals;
  const availability = counted === 0 ? null : Math.round((1 - failures / counted) * 100_000) / 1000;
  const breached: SlaPeriod['breached'] = [];
  if (availability !== null && availability < target.availability) breached.push('availability');
  if (totals.latency.p95 !== null && totals.latency.p95 > target.latencyP95Ms) breached.push('latency');
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    counted,
    failures,
    availability,
    latencyP95Ms: totals.latency.p95,
    breached,
  };
}
