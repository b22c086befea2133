/**
 * Calendar periods (day, month) at a fixed UTC offset, in integer arithmetic, defined once: the
 * memory store, the fallback ledger and the rate-limit headers use it, and limiter.lua is its one
 * mirror (each function here names its twin there, and the twin names it back). Change both
 * together; test/limits/store/random-steps.test.ts runs the memory store and the script on the
 * same random steps across day and month boundaries and fails where they disagree, and
 * calendar.test.ts checks this file against `Date`.
 * Civil-from-days and days-from-civil are Howard Hinnant's algorithms (proleptic Gregorian).
 */

/** Milliseconds in a day. Lua: `DAY_MS`. */
export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** A calendar key lives this long past the end of its period (ms). Lua: `CALENDAR_TTL_SLACK_MS`. */
export const CALENDAR_TTL_SLACK_MS = 1000;

/** A calendar dimension's kind in the script's arguments. Lua: `kind == 'c'`. */
export const CALENDAR_KIND = 'c';

/**
 * A calendar dimension's parameters, in the order limiter.lua reads them after the kind (consume and
 * peek: ARGV[base + 5, 6]; adjustments: ARGV[base + 2, 3]): period, then UTC offset (minutes).
 * Lua: the header's layout.
 */
export function pushCalendarParams(args: string[], dimension: { period: 'day' | 'month'; utcOffsetMinutes: number }): void {
  args.push(dimension.period, String(dimension.utcOffsetMinutes));
}

export interface CalendarPeriod {
  /** `YYYYMMDD` for a day, `YYYYMM` for a month, in the offset's local time. */
  id: string;
  /** Epoch ms of the period's first instant. */
  startsAt: number;
  /** Epoch ms of the next period's first instant. */
  endsAt: number;
}

/** The period containing `nowMs`: its id and bounds. Lua: `calendar_period`. */
export function calendarPeriod(nowMs: number, period: 'day' | 'month', utcOffsetMinutes: number): CalendarPeriod {
  const offsetMs = utcOffsetMinutes * MINUTE_MS;
  const day = Math.floor((nowMs + offsetMs) / DAY_MS);
  const { y, m, d } = civilFromDays(day);
  if (period === 'day') {
    return { id: String(y * 10000 + m * 100 + d), startsAt: day * DAY_MS - offsetMs, endsAt: (day + 1) * DAY_MS - offsetMs };
  }
  const first = daysFromCivil(y, m, 1);
  const next = m === 12 ? daysFromCivil(y + 1, 1, 1) : daysFromCivil(y, m + 1, 1);
  return { id: String(y * 100 + m), startsAt: first * DAY_MS - offsetMs, endsAt: next * DAY_MS - offsetMs };
}

/**
 * Whether an adjustment applies to the `current` period: one placed `now` always; one placed `at`
 * (a refund, a replay) only if `at` falls in the current period. Lua: `calendar_applies`.
 */
export function calendarApplies(placement: 'at' | 'now', at: number, current: CalendarPeriod, period: 'day' | 'month', utcOffsetMinutes: number): boolean {
  return placement === 'now' || calendarPeriod(at, period, utcOffsetMinutes).id === current.id;
}

/**
 * How long a calendar key lives after a charge in `period` (ms from `nowMs`): past the period's end,
 * when its count stops counting. Lua: `calendar_ttl`.
 */
export function calendarKeyTtlMs(period: CalendarPeriod, nowMs: number): number {
  return period.endsAt - nowMs + CALENDAR_TTL_SLACK_MS;
}

/**
 * A refused dimension's wait: until the next period starts; the current period's whole length when
 * the request can never fit. (Its `resetAt` is always the period's end.) Lua: `calendar_retry_after`.
 */
export function calendarRetryAfterMs(period: CalendarPeriod, nowMs: number, neverFits: boolean): number {
  return neverFits ? period.endsAt - period.startsAt : period.endsAt - nowMs;
}

/** Days since 1970-01-01 → civil date. Lua: `civil_from_days`. */
export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365], from March 1
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March = 0
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return { y, m, d };
}

/** Civil date → days since 1970-01-01. Lua: `days_from_civil`. */
export function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
