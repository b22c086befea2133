import { describe, expect, it } from 'vitest';
import { formatAmount, formatBytes, formatDuration } from '../../ide/src/format.js';

describe("the IDE limits panel's numbers", () => {
  it('writes durations in the largest units that read well, never millions of seconds', () => {
    expect([0, 42, 89, 90, 600, 3599, 3600, 5400, 86_400, 172_799, 2_267_602, 2_592_000].map(formatDuration)).toEqual([
      '0 s',
      '42 s',
      '89 s',
      '2 min',
      '10 min',
      '1 h',
      '1 h',
      '1 h 30 min',
      '24 h',
      '2 days',
      '26 days 6 h',
      '30 days',
    ]);
  });

  it('writes bytes with decimal units and counts with separators', () => {
    expect([0, 999, 1000, 50_000_000, 999_969_235].map(formatBytes)).toEqual(['0 B', '999 B', '1 KB', '50 MB', '1 GB']);
    expect(formatAmount('bytes-hour', 999_969_235)).toBe('1 GB');
    expect(formatAmount('minute', 19_993)).toBe('19,993');
  });
});
