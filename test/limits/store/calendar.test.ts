import { describe, expect, it } from 'vitest';
import { calendarPeriod, civilFromDays, daysFromCivil } from '../../../src/limits/store/calendar.js';
import { prng } from './helpers.js';

describe('calendar periods', () => {
  it('names the local day and month and their bounds at an offset', () => {
    // 2026-11-23T03:30Z is 22:30 on Nov 22 at UTC-05:00.
    expect(calendarPeriod(Date.UTC(2026, 10, 23, 3, 30), 'day', -300)).toEqual({
      id: '20261122',
      startsAt: Date.UTC(2026, 10, 22, 5),
      endsAt: Date.UTC(2026, 10, 23, 5),
    });
    // 2026-12-31T23:30Z is 00:30 on Jan 1, 2027 at UTC+01:00.
    expect(calendarPeriod(Date.UTC(2026, 11, 31, 23, 30), 'month', 60)).toEqual({
      id: '202701',
      startsAt: Date.UTC(2026, 11, 31, 23),
      endsAt: Date.UTC(2027, 0, 31, 23),
    });
    // February of a leap year, of a non-leap century, of a leap century.
    expect(calendarPeriod(Date.UTC(2024, 1, 10), 'month', 0)).toMatchObject({ id: '202402', endsAt: Date.UTC(2024, 2, 1) });
    expect(calendarPeriod(Date.UTC(2100, 1, 28, 12), 'day', 0).endsAt).toBe(Date.UTC(2100, 2, 1));
    expect(calendarPeriod(Date.UTC(2000, 1, 28, 12), 'day', 0).endsAt).toBe(Date.UTC(2000, 1, 29));
  });

  it('agrees with Date for random instants and offsets', () => {
    const random = prng(2026);
    for (let i = 0; i < 20_000; i++) {
      const at = Math.floor(random() * Date.UTC(2200, 0, 1));
      const offset = -720 + Math.floor(random() * 1561);
      const local = new Date(at + offset * 60_000);
      const [y, m, d] = [local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()];
      const day = calendarPeriod(at, 'day', offset);
      expect(day.id).toBe(String(y * 10000 + (m + 1) * 100 + d));
      expect(day.startsAt).toBe(Date.UTC(y, m, d) - offset * 60_000);
      expect(day.endsAt).toBe(Date.UTC(y, m, d + 1) - offset * 60_000);
      const month = calendarPeriod(at, 'month', offset);
      expect(month.id).toBe(String(y * 100 + m + 1));
      expect(month.startsAt).toBe(Date.UTC(y, m, 1) - offset * 60_000);
      expect(month.endsAt).toBe(Date.UTC(y, m + 1, 1) - offset * 60_000);
    }
  });

  it('round-trips days and civil dates', () => {
    for (let days = -800_000; days <= 800_000; days += 997) {
      const { y, m, d } = civilFromDays(days);
      expect(daysFromCivil(y, m, d)).toBe(days);
    }
  });
});
