import type { DocumentHoldings, TrustedDocumentCaps } from './caps.js';

/** One operation of a registered document: what a key's `rootFields` are checked against. */
export interface TrustedOperation {
  /** The operation's name; null for an anonymous operation. */
  name: string | null;
  type: 'query' | 'mutation' | 'subscription';
  /** `Query.products`, ... (see limits/root-fields.ts). */
  rootFields: string[];
}

/** A document a tenant registered ahead of time; its id is the SHA-256 of its text, so it never changes. */
export interface TrustedDocument {
  /** Lowercase hex SHA-256 of `body`. */
  sha256: string;
  /** A name for people (the manifest's operation name); optional. */
  name: string | null;
  body: string;
  operations: TrustedOperation[];
  /** The price at registration (field cost and type cost), with `pricedWith` variables; null if it could not be priced without them. */
  cost: { fieldCost: number; typeCost: number } | null;
  pricedWith: Record<string, unknown>;
  registeredAt: number;
  registeredBy: string;
}

/** What a registration did: stored the batch whole, or nothing because a cap would be passed. */
export interface PutOutcome {
  stored: boolean;
  /** The tenant's holdings before the registration. */
  before: DocumentHoldings;
  /** Its holdings with the batch in (what they are now if `stored`, what they would have been if not). */
  after: DocumentHoldings;
}

/**
 * Where a tenant's trusted documents live: in memory for one process, in Redis for a fleet. Each
 * implementation keeps a tenant's document count and bytes (`storedBytes`) exact, and checks a
 * registration against the caps atomically with storing it.
 */
export interface TrustedDocumentStore {
  get(tenantId: string, sha256: string): Promise<TrustedDocument | null>;
  list(tenantId: string): Promise<TrustedDocument[]>;
  /**
   * Stores every document (a document already there, by hash, is replaced and counts once), or
   * none if the tenant would pass a cap (`admits`).
   */
  put(tenantId: string, documents: TrustedDocument[], caps: TrustedDocumentCaps): Promise<PutOutcome>;
  /** Returns how many of `sha256s` were registered. */
  remove(tenantId: string, sha256s: string[]): Promise<number>;
}

/** A document as the store keeps it: JSON, as Redis holds it. */
export const encodeDocument = (document: TrustedDocument): string => JSON.stringify(document);

/** What a document takes in the store, in bytes: its JSON's UTF-8 length (Lua's `string.len` of it in Redis). */
export const storedBytes = (document: TrustedDocument): number => Buffer.byteLength(encodeDocument(document), 'utf8');
