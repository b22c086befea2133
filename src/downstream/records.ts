/**
 * The JSON the downstream REST services answer with. Resolvers receive these as parent values
 * (codegen maps the GraphQL types onto them), so the shapes are the contract between the
 * sample services and the schema.
 */
export interface CustomerRecord {
  id: string;
  name: string;
  email: string;
  tier: 'bronze' | 'silver' | 'gold';
  lifetimeValueCents: number;
  createdAt: string;
}

export interface ProductRecord {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  category: string;
  tags: string[];
}

export interface LineItemRecord {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderRecord {
  id: string;
  customerId: string;
  status: 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
  createdAt: string;
  items: LineItemRecord[];
  totalCents: number;
}

export interface StockRecord {
  productId: string;
  available: number;
  reserved: number;
  warehouse: string;
  updatedAt: string;
}

/** A page of a list endpoint (`?first=&after=`). */
export interface PageRecord<T> {
  items: T[];
  /** One cursor per item: passing it as `after` resumes right after that item. */
  cursors: string[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  totalCount: number;
}

/** A batch endpoint's answer (`?ids=`): one slot per requested id, in order, null when absent. */
export interface BatchRecord<T> {
  items: (T | null)[];
}

/** Money as the schema shows it; built from integer cents. */
export interface MoneyValue {
  amountCents: number;
  currency: string;
}

/** A connection edge: the item and the downstream cursor that resumes right after it. */
export interface EdgeRecord<T> {
  cursor: string;
  node: T;
}
