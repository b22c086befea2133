/**
 * Calendar periods (day, month) at a fixed UTC offset, in integer arithmetic: the memory store
 * uses this, and limiter.lua holds a line-for-line twin (the tests cross-check them).
 * Civil-from-days and days-from-civil are Howard Hinnant's algorithms (proleptic Gregorian).
 */

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface CalendarPeriod {
  /** `YYYYMMDD` for a day, `YYYYMM` for a month, in the offset's local time. */
  id: string;
  /** Epoch ms of the period's first instant. */
  startsAt: number;
  /** Epoch ms of the next period's first instant. */
  endsAt: number;
}

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

/** Days since 1970-01-01 → civil date. */
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

/** Civil date → days since 1970-01-01. */
export function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
