/*
 * Forecast of a quota or budget at the end of its period: recent-rate extrapolation with a daily
 * profile. From the hourly history of the metric (the last PROFILE_DAYS days):
 *
 *   profile[h] = mean of the metric in the complete hours whose UTC hour-of-day is h
 *   level      = (metric in the last LEVEL_HOURS complete hours) / (profile over those same hours),
 *                clamped to [MIN_LEVEL, MAX_LEVEL]: today's pace relative to a usual day
 *   pace(hour) = level × profile[hour-of-day]           (expected amount in that hour)
 *
 * Without any complete hour in the profile (a new tenant) the pace is flat: the current hour's
 * amount so far per hour elapsed (at least FIRST_HOUR_MIN_ELAPSED of it, so a burst in the first
 * seconds is not extrapolated a thousandfold).
 * Projected = used + the pace summed from now to the end of the period (the current hour pro
 * rata). It runs out at the first moment `used + cumulative pace` reaches the limit (linear
 * within an hour), or now when it already has.
 */

const HOUR_MS = 3_600_000;
export const PROFILE_DAYS = 7;
export const LEVEL_HOURS = 6;
export const MIN_LEVEL = 0.2;
export const MAX_LEVEL = 5;
/**
 * The least history a forecast is made from: complete hours with some traffic in the profile's
 * week. Below it (three requests, an hour of traffic) a month's projection would be the
 * extrapolation of noise: the forecast says there is too little data and predicts no run-out.
 */
export const MIN_ACTIVE_HOURS = 12;
/** Fraction of an hour: 5 minutes. */
export const FIRST_HOUR_MIN_ELAPSED = 1 / 12;

export const FORECAST_METHOD =
  `Recent-rate extrapolation with a daily profile: the mean of each hour of the day over the last ${PROFILE_DAYS} days, ` +
  `scaled by how the last ${LEVEL_HOURS} hours compare with that profile (between ${MIN_LEVEL}× and ${MAX_LEVEL}×), ` +
  `summed to the end of the period; made once at least ${MIN_ACTIVE_HOURS} hours of the last ${PROFILE_DAYS} days had traffic.`;

export interface ForecastInput {
  /** Epoch ms. */
  now: number;
  /** Epoch ms when the period (and the quota) resets. */
  periodEnd: number;
  /** Used so far in the period. */
  used: number;
  /** null: nothing limits the period; the projection is informational. */
  limit: number | null;
  /** The metric per UTC hour, oldest first, up to and including the current (partial) hour. */
  hourly: readonly { start: number; value: number }[];
}

export interface Forecast {
  projected: number;
  /** Epoch ms; null when the limit would not be reached before the period ends (or there is none). */
  exhaustsAt: number | null;
  /** Expected amount in the current hour at the forecast pace. */
  ratePerHour: number;
  /** Complete hours of the profile's week with some of the metric. */
  activeHours: number;
  /**
   * activeHours >= MIN_ACTIVE_HOURS. When false, `exhaustsAt` is null unless the limit is
   * already reached (a fact, not a projection), and `projected` is not to be shown as a forecast.
   */
  enoughHistory: boolean;
}

export function forecast(input: ForecastInput): Forecast {
  const { now, periodEnd, used, limit } = input;
  const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const complete = input.hourly.filter((h) => h.start < currentHour && h.start >= currentHour - PROFILE_DAYS * 24 * HOUR_MS);
  const current = input.hourly.find((h) => h.start === currentHour)?.value ?? 0;
  const elapsed = Math.max((now - currentHour) / HOUR_MS, FIRST_HOUR_MIN_ELAPSED);
  const pace = paceOf(complete, currentHour) ?? (() => current / elapsed);

  let projected = used;
  const activeHours = complete.filter((h) => h.value > 0).length;
  const enoughHistory = activeHours >= MIN_ACTIVE_HOURS;
  let exhaustsAt: number | null = limit !== null && used >= limit ? now : null;
  for (let hour = currentHour; hour < periodEnd; hour += HOUR_MS) {
    const from = Math.max(hour, now);
    const to = Math.min(hour + HOUR_MS, periodEnd);
    if (to <= from) continue;
    const amount = pace(hour) * ((to - from) / HOUR_MS);
    if (enoughHistory && exhaustsAt === null && limit !== null && amount > 0 && projected + amount >= limit) {
      exhaustsAt = Math.round(from + ((limit - projected) / amount) * (to - from));
    }
    projected += amount;
  }
  return { projected: round2(projected), exhaustsAt, ratePerHour: round2(pace(currentHour)), activeHours, enoughHistory };
}

/** Expected amount per hour, by the hour's start; null without a complete hour of history. */
function paceOf(complete: readonly { start: number; value: number }[], currentHour: number): ((hour: number) => number) | null {
  const hourOfDay = (t: number) => new Date(t).getUTCHours();
  const sums = new Array<number>(24).fill(0);
  const counts = new Array<number>(24).fill(0);
  for (const h of complete) {
    sums[hourOfDay(h.start)]! += h.value;
    counts[hourOfDay(h.start)]! += 1;
  }
  const profile = sums.map((sum, i) => (counts[i]! === 0 ? 0 : sum / counts[i]!));
  const recent = complete.filter((h) => h.start >= currentHour - LEVEL_HOURS * HOUR_MS);
  const recentSum = recent.reduce((sum, h) => sum + h.value, 0);
  const profileTotal = profile.reduce((a, b) => a + b, 0);
  if (profileTotal === 0) return null;
  const expectedRecent = recent.reduce((sum, h) => sum + profile[hourOfDay(h.start)]!, 0);
  const level = expectedRecent === 0 ? (recentSum === 0 ? 1 : MAX_LEVEL) : clamp(recentSum / expectedRecent, MIN_LEVEL, MAX_LEVEL);
  return (hour) => level * profile[hourOfDay(hour)]!;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round2 = (v: number) => Math.round(v * 100) / 100;
