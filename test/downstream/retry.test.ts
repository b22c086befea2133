import { describe, expect, it } from 'vitest';
import { backoffDelay, createRetryBudget, parseRetryAfter } from '../../src/downstream/retry.js';

describe('backoffDelay', () => {
  const options = { baseDelayMs: 50, maxDelayMs: 300 };

  it('draws from [0, base * 2^retry) with full jitter', () => {
    expect(backoffDelay(0, options, () => 0)).toBe(0);
    expect(backoffDelay(0, options, () => 0.999)).toBe(49);
    expect(backoffDelay(2, options, () => 0.5)).toBe(100);
  });

  it('caps the ceiling at maxDelayMs', () => {
    expect(backoffDelay(10, options, () => 0.999)).toBe(299);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('ignores absent and unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
  });
});

describe('createRetryBudget', () => {
  it('allows one retry per 1/ratio calls once the per-second reserve is off', () => {
    const budget = createRetryBudget({ ratio: 0.1, minPerSecond: 0 });
    let allowed = 0;
    for (let i = 0; i < 100; i++) {
      budget.deposit();
      if (budget.tryWithdraw()) allowed++;
    }
    expect(allowed).toBe(10);
  });

  it('caps the bucket so a healthy spell cannot pay for a storm', () => {
    const budget = createRetryBudget({ ratio: 1, minPerSecond: 0, maxTokens: 10 });
    for (let i = 0; i < 1000; i++) budget.deposit();
    expect(budget.tokens()).toBe(10);
    let allowed = 0;
    while (budget.tryWithdraw()) allowed++;
    expect(allowed).toBe(10);
  });

  it('always allows minPerSecond retries per second, refilled each second', () => {
    let t = 0;
    const budget = createRetryBudget({ ratio: 0, minPerSecond: 2, now: () => t });
    expect([budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw()]).toEqual([true, true, false]);
    t = 999;
    expect(budget.tryWithdraw()).toBe(false);
    t = 1000;
    expect([budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw()]).toEqual([true, true, false]);
  });
});
