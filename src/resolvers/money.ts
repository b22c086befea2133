import type { MoneyValue } from '../downstream/records.js';
import type { Resolvers } from '../graph/generated/resolvers-types.js';

export function money(amountCents: number, currency = 'USD'): MoneyValue {
  return { amountCents, currency };
}

export const moneyResolvers: Resolvers = {
  Money: {
    formatted: ({ amountCents, currency }) => new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amountCents / 100),
  },
};
