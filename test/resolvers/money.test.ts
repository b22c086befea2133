import { describe, expect, it } from 'vitest';
import { moneyResolvers } from '../../src/resolvers/money.js';

/** `Money.formatted` as the schema resolves it (the resolver takes the parent value alone). */
const formatted = (amountCents: number, currency: string) =>
  (moneyResolvers.Money as { formatted: (parent: { amountCents: number; currency: string }) => string }).formatted({ amountCents, currency });

describe('Money.formatted', () => {
  it('writes each amount in its own currency, whichever currency came before', () => {
    expect(formatted(123456, 'USD')).toBe('$1,234.56');
    expect(formatted(5, 'EUR')).toBe('€0.05');
    expect(formatted(-250, 'USD')).toBe('-$2.50');
    expect(formatted(100000, 'JPY')).toBe('¥1,000');
    expect(formatted(99, 'EUR')).toBe('€0.99');
  });

  it('refuses a code that is not a currency, every time (nothing is kept for it)', () => {
    expect(() => formatted(100, 'dollars')).toThrow(RangeError);
    expect(() => formatted(100, 'dollars')).toThrow(RangeError);
    expect(formatted(100, 'USD')).toBe('$1.00');
  });
});
