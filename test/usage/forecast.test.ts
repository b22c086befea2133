import { describe, expect, it } from 'vitest';
import { forecast, MAX_LEVEL, MIN_ACTIVE_HOURS } from '../../src/usage/forecast.js';

const HOUR = 3_600_000;
/** 2026-11-22T00:00:00Z. */
const DAY0 = Date.UTC(2026, 10, 22);

/** Hourly points from `from` (inclusive) to `to` (exclusive), valued by `value(start)`. */
function hours(from: number, to: number, value: (start: number) => number) {
  const out = [];
  for (let t = from; t < to; t += HOUR) out.push({ start: t, value: value(t) });
  return out;
}
const hourOfDay = (t: number) => new Date(t).getUTCHours();

describe('forecast: recent-rate extrapolation with a daily profile', () => {
  it('projects a flat history to the end of the day and finds when the quota runs out', () => {
    const now = DAY0 + 12 * HOUR; // noon, the current hour just started
    const f = forecast({ now, periodEnd: DAY0 + 24 * HOUR, used: 1200, limit: 2000, hourly: hours(now - 7 * 24 * HOUR, now + HOUR, () => 100) });
    expect(f.ratePerHour).toBe(100);
    expect(f.projected).toBe(1200 + 12 * 100);
    // 800 left at 100 an hour: 8 hours from noon.
    expect(f.exhaustsAt).toBe(DAY0 + 20 * HOUR);
  });

  it('follows the daily profile: quiet nights add nothing, busy office hours add their usual amount', () => {
    // 300 an hour from 08:00 to 17:59 UTC, nothing otherwise, for a week.
    const busy = (t: number) => (hourOfDay(t) >= 8 && hourOfDay(t) < 18 ? 300 : 0);
    const now = DAY0 + 14 * HOUR; // 14:00: 4 office hours left today (14, 15, 16, 17)
    const f = forecast({ now, periodEnd: DAY0 + 24 * HOUR, used: 1800, limit: null, hourly: hours(now - 7 * 24 * HOUR, now, busy) });
    expect(f.projected).toBe(1800 + 4 * 300);
    expect(f.exhaustsAt).toBeNull();

    const night = DAY0 + 2 * HOUR;
    const quiet = forecast({ now: night, periodEnd: DAY0 + 7 * HOUR, used: 0, limit: 10, hourly: hours(night - 7 * 24 * HOUR, night, busy) });
    expect(quiet.projected).toBe(0);
    expect(quiet.exhaustsAt).toBeNull();
  });

  it('scales the profile by how today compares with a usual day', () => {
    // A week at 100 an hour, then the last 6 hours at 200: the pace doubles.
    const now = DAY0 + 12 * HOUR;
    const hourly = hours(now - 7 * 24 * HOUR, now, (t) => (t >= now - 6 * HOUR ? 200 : 100));
    const f = forecast({ now, periodEnd: DAY0 + 24 * HOUR, used: 0, limit: null, hourly });
    // Hours 06-11 of the profile average (6 × 100 + 200) / 7; the others stay 100. The level is
    // 1200 / (6 × 800 / 7) = 1.75, so the afternoon's hours (profile 100) are expected at 175.
    expect(f.ratePerHour).toBe(175);
    expect(f.projected).toBe(12 * 175);
  });

  it('caps the level so one burst does not project the month out of all proportion', () => {
    const now = DAY0 + 12 * HOUR;
    const hourly = hours(now - 7 * 24 * HOUR, now, (t) => (t >= now - HOUR ? 10_000 : 10));
    const f = forecast({ now, periodEnd: now + HOUR, used: 0, limit: null, hourly });
    const profileNoon = 10; // hour 11 carries the burst, not hour 12
    expect(f.ratePerHour).toBe(MAX_LEVEL * profileNoon);
  });

  it('with no complete hour of history, extrapolates the current hour (at least 5 minutes of it) but predicts no run-out from it', () => {
    const now = DAY0 + 12 * HOUR + 30 * 60_000; // half past noon
    const f = forecast({ now, periodEnd: DAY0 + 13 * HOUR, used: 50, limit: 100, hourly: [{ start: DAY0 + 12 * HOUR, value: 50 }] });
    expect(f.ratePerHour).toBe(100);
    expect(f.projected).toBe(100);
    expect(f).toMatchObject({ activeHours: 0, enoughHistory: false, exhaustsAt: null });

    const early = DAY0 + 12 * HOUR + 60_000; // one minute in: counted as five
    expect(forecast({ now: early, periodEnd: DAY0 + 13 * HOUR, used: 5, limit: null, hourly: [{ start: DAY0 + 12 * HOUR, value: 5 }] }).ratePerHour).toBe(60);
  });

  it('says the limit is reached now when it already is, and nothing without history', () => {
    const now = DAY0 + 12 * HOUR;
    const none = { ratePerHour: 0, activeHours: 0, enoughHistory: false };
    expect(forecast({ now, periodEnd: DAY0 + 24 * HOUR, used: 2000, limit: 2000, hourly: [] })).toEqual({ projected: 2000, exhaustsAt: now, ...none });
    expect(forecast({ now, periodEnd: DAY0 + 24 * HOUR, used: 0, limit: 5, hourly: [] })).toEqual({ projected: 0, exhaustsAt: null, ...none });
  });

  it(`says there is too little data below ${MIN_ACTIVE_HOURS} hours with traffic, instead of projecting a month from three requests`, () => {
    const now = DAY0 + 12 * HOUR;
    const monthEnd = Date.UTC(2026, 11, 1);
    // Three requests in three hours of the week: a month of them at that pace would be a guess.
    const three = hours(now - 7 * 24 * HOUR, now, (t) => (t >= now - 3 * HOUR ? 1 : 0));
    expect(forecast({ now, periodEnd: monthEnd, used: 3, limit: 100, hourly: three })).toMatchObject({
      activeHours: 3,
      enoughHistory: false,
      exhaustsAt: null,
    });
    // The same pace over the last 12 hours is enough history: the run-out is forecast.
    const twelve = hours(now - 7 * 24 * HOUR, now, (t) => (t >= now - MIN_ACTIVE_HOURS * HOUR ? 1 : 0));
    const f = forecast({ now, periodEnd: monthEnd, used: 12, limit: 30, hourly: twelve });
    expect(f).toMatchObject({ activeHours: MIN_ACTIVE_HOURS, enoughHistory: true });
    expect(f.exhaustsAt).not.toBeNull();
  });
});
