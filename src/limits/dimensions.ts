import type { PlanLimits } from '../config/schema.js';
import type { Burst, Dimension } from './store/types.js';
import { utcOffsetMinutes } from './time-zone.js';

/** What a client is told was exceeded: the `dimension` of a RATE_LIMITED error. */
export type DimensionKind = 'requests' | 'quota' | 'cost' | 'bandwidth' | 'field';

/** A store dimension plus what clients and logs need to explain it. */
export interface LimitDimension {
  store: Dimension;
  kind: DimensionKind;
  /** Policy name in headers and errors: `minute`, `day`, `month`, `cost-minute`, `client-minute`, ... */
  policy: string;
  /** Human window: `1 minute`, `day`, ... */
  window: string;
  /** Window length in seconds, for `w=` in RateLimit-Policy (calendar periods: their nominal length). */
  windowSeconds: number;
  /** Counts requests (eligible for the X-RateLimit-* "tightest request window"). */
  countsRequests: boolean;
}

/**
 * Sub-buckets per sliding window. A sub-bucket counts until one window after its last charge, so
 * the check may count at most one sub-bucket's span (2 s of a minute, 1 min of an hour) of
 * admissions that are already older than the window (see src/limits/store/ALGORITHM.md for the
 * throughput this leaves: 100% under saturation, about 98% of the limit under steady overload).
 * More sub-buckets cost Lua time per check (each one is a hash field read on every check).
 */
export const MINUTE_BUCKETS = 30;
const HOUR_BUCKETS = 60;

export interface DimensionInput {
  tenantId: string;
  clientId: string;
  ip: string;
  limits: PlanLimits;
  timeZone: string;
  /** Root fields the operation selects, `Mutation.placeOrder`, one entry per selection (aliases repeat). */
  rootFields: string[];
  /** Estimated cost to charge (0 for a dry run). */
  cost: number;
  /** A publishable key's own per-address limit (requests per rolling minute), inside the plan's. */
  keyPerIpPerMinute?: number;
  now?: number;
}

/**
 * Every dimension a request is checked against, all under the tenant's hash tag so one Lua
 * script can check them together on a Redis Cluster. `unlimited` and absent limits make no
 * dimension at all: nothing is stored for them.
 */
export function buildDimensions(input: DimensionInput): LimitDimension[] {
  const { limits } = input;
  // A plan without limits (an Enterprise plan, every feature off): nothing to build, on every request.
  if (!makesDimensions(input)) return [];
  const tag = `rl:{${input.tenantId}}`;
  const dims: LimitDimension[] = [];
  const sliding = (
    kind: DimensionKind,
    policy: string,
    key: string,
    limit: number,
    windowSeconds: number,
    amount: number,
    extra: { checkOnly?: boolean; countsRequests?: boolean; burst?: Burst } = {},
  ) => {
    const buckets = windowSeconds >= 3600 ? HOUR_BUCKETS : MINUTE_BUCKETS;
    dims.push({
      store: {
        kind: 'sliding',
        name: policy,
        key,
        limit,
        windowMs: windowSeconds * 1000,
        buckets,
        amount,
        ...(extra.checkOnly ? { checkOnly: true } : {}),
        ...(extra.burst ? { burst: extra.burst } : {}),
      },
      kind,
      policy,
      window: windowSeconds === 60 ? '1 minute' : windowSeconds === 3600 ? '1 hour' : `${windowSeconds} seconds`,
      windowSeconds,
      countsRequests: extra.countsRequests ?? false,
    });
  };

  const rpm = limits.requestsPerMinute;
  if (typeof rpm === 'number') {
    const burst = limits.burst;
    sliding('requests', 'minute', `${tag}:req:m`, rpm, 60, 1, {
      countsRequests: true,
      ...(burst ? { burst: { amount: burst.requests, maxDelayMs: burst.maxDelayMs } } : {}),
    });
    if (limits.perClientShare !== undefined) {
      const share = Math.max(1, Math.floor(rpm * limits.perClientShare));
      // A key holds its share of the burst too: otherwise its own minute would refuse what the tenant's holds.
      const keyBurst = burst ? { amount: Math.max(1, Math.floor(burst.requests * limits.perClientShare)), maxDelayMs: burst.maxDelayMs } : undefined;
      sliding('requests', 'client-minute', `${tag}:client:${input.clientId}:m`, share, 60, 1, {
        countsRequests: true,
        ...(keyBurst ? { burst: keyBurst } : {}),
      });
    }
  }
  if (typeof limits.perIpPerMinute === 'number') {
    sliding('requests', 'ip-minute', `${tag}:ip:${input.ip}:m`, limits.perIpPerMinute, 60, 1, { countsRequests: true });
  }
  if (input.keyPerIpPerMinute !== undefined) {
    sliding('requests', 'key-ip-minute', `${tag}:key:${input.clientId}:ip:${input.ip}:m`, input.keyPerIpPerMinute, 60, 1, { countsRequests: true });
  }
  // `unlimited` quotas make no dimension, so they need no offset either.
  const offset = typeof limits.requestsPerDay === 'number' || typeof limits.requestsPerMonth === 'number' ? utcOffsetMinutes(input.timeZone, input.now) : 0;
  for (const [period, limit, seconds] of [
    ['day', limits.requestsPerDay, 86_400],
    ['month', limits.requestsPerMonth, 30 * 86_400],
  ] as const) {
    if (typeof limit !== 'number') continue;
    dims.push({
      store: { kind: 'calendar', name: period, key: `${tag}:req:${period}`, limit, period, utcOffsetMinutes: offset, amount: 1 },
      kind: 'quota',
      policy: period,
      window: `calendar ${period} (${input.timeZone})`,
      windowSeconds: seconds,
      countsRequests: true,
    });
  }
  if (typeof limits.costPerMinute === 'number') {
    // Weights may be fractional; the budget is charged in whole points, rounded up.
    sliding('cost', 'cost-minute', `${tag}:cost:m`, limits.costPerMinute, 60, Math.ceil(input.cost));
  }
  if (typeof limits.responseBytesPerHour === 'number') {
    // Bytes are only known after the response: check that some budget is left, add them later.
    sliding('bandwidth', 'bytes-hour', `${tag}:bytes:h`, limits.responseBytesPerHour, 3600, 0, { checkOnly: true });
  }
  const perField = new Map<string, number>();
  for (const field of input.rootFields) perField.set(field, (perField.get(field) ?? 0) + 1);
  for (const [field, count] of perField) {
    const rule = limits.fieldLimits?.[field];
    if (rule) sliding('field', field, `${tag}:field:${field}`, rule.limit, rule.windowSeconds, count);
  }
  return dims;
}

/** Whether `buildDimensions` makes any dimension for this input (an Enterprise plan, or every feature off, makes none). */
export function makesDimensions(input: Pick<DimensionInput, 'limits' | 'keyPerIpPerMinute'>): boolean {
  return input.keyPerIpPerMinute !== undefined || limitsAnything(input.limits);
}

/** Whether `limits` makes any dimension (what `buildDimensions` reads, besides a key's own per-address limit). */
function limitsAnything(limits: PlanLimits): boolean {
  return (
    typeof limits.requestsPerMinute === 'number' ||
    typeof limits.perIpPerMinute === 'number' ||
    typeof limits.requestsPerDay === 'number' ||
    typeof limits.requestsPerMonth === 'number' ||
    typeof limits.costPerMinute === 'number' ||
    typeof limits.responseBytesPerHour === 'number' ||
    (limits.fieldLimits !== undefined && Object.keys(limits.fieldLimits).length > 0)
  );
}
