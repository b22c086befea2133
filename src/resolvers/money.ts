import type { MoneyValue } from '../downstream/records.js';
import type { Resolvers } from '../graph/generated/resolvers-types.js';

export function money(amountCents: number, currency = 'USD'): MoneyValue {
  return { amountCents, currency };
}

/**
 * One formatter per currency: making an `Intl.NumberFormat` costs tens of µs (it loads locale
 * data), and a dashboard query formats a dozen amounts; a profile put `formatted` at about 200 µs
 * of such a request when each call made its own. Bounded: currencies come from downstream data.
 */
const formatters = new Map<string, Intl.NumberFormat>();
const MAX_FORMATTERS = 64;

function formatterOf(currency: string): Intl.NumberFormat {
  let formatter = formatters.get(currency);
  if (formatter === undefined) {
    // Throws a RangeError for a code that is not a currency, as before: nothing is kept for it.
    formatter = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(currency, formatter);
  }
  return formatter;
}

export const moneyResolvers: Resolvers = {
  Money: {
    formatted: ({ amountCents, currency }) => formatterOf(currency).format(amountCents / 100),
  },
};
