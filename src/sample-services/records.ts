/**
 * The JSON shapes the sample services answer with. Money is integer cents, timestamps are ISO
 * strings. The gateway keeps its own copy of these shapes in `src/downstream/records.ts`; they
 * are the contract between the two and must change together.
 */

export type CustomerTier = 'bronze' | 'silver' | 'gold';
export const CUSTOMER_TIERS: readonly CustomerTier[] = ['bronze', 'silver', 'gold'];

export interface Customer {
  id: string;
  name: string;
  email: string;
  tier: CustomerTier;
  lifetimeValueCents: number;
  createdAt: string;
}

export interface Product {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: 'USD';
  category: string;
  tags: string[];
}

export type OrderStatus = 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';

export interface LineItem {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  createdAt: string;
  items: LineItem[];
  totalCents: number;
}

export interface Stock {
  productId: string;
  available: number;
  reserved: number;
  warehouse: string;
  updatedAt: string;
}

/** A list endpoint's answer (`?first=&after=`). */
export interface Page<T> {
  items: T[];
  /** One cursor per item: passing it as `after` resumes right after that item. */
  cursors: string[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  totalCount: number;
}

/** A batch endpoint's answer: one slot per requested id, in request order, null when absent. */
export interface Batch<T> {
  items: (T | null)[];
}
