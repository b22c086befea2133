import type { RedisClient } from '../stores/redis.js';

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

/** Where a tenant's trusted documents live: in memory for one process, in Redis for a fleet. */
export interface TrustedDocumentStore {
  get(tenantId: string, sha256: string): Promise<TrustedDocument | null>;
  list(tenantId: string): Promise<TrustedDocument[]>;
  put(tenantId: string, documents: TrustedDocument[]): Promise<void>;
  /** Returns how many of `sha256s` were registered. */
  remove(tenantId: string, sha256s: string[]): Promise<number>;
}

export function createMemoryTrustedDocumentStore(): TrustedDocumentStore {
  const byTenant = new Map<string, Map<string, TrustedDocument>>();
  const of = (tenantId: string) => byTenant.get(tenantId) ?? byTenant.set(tenantId, new Map()).get(tenantId)!;
  return {
    get: async (tenantId, sha256) => of(tenantId).get(sha256) ?? null,
    list: async (tenantId) => [...of(tenantId).values()],
    put: async (tenantId, documents) => void documents.forEach((d) => of(tenantId).set(d.sha256, d)),
    remove: async (tenantId, sha256s) => sha256s.filter((id) => of(tenantId).delete(id)).length,
  };
}

/** One hash per tenant, `td:{tenant}`: sha256 -> JSON. Registration writes all of a file in one HSET. */
export function createRedisTrustedDocumentStore(redis: RedisClient): TrustedDocumentStore {
  const key = (tenantId: string) => `td:{${tenantId}}`;
  return {
    async get(tenantId, sha256) {
      const json = await redis.hget(key(tenantId), sha256);
      return json ? (JSON.parse(json) as TrustedDocument) : null;
    },
    async list(tenantId) {
      return Object.values(await redis.hgetall(key(tenantId))).map((json) => JSON.parse(json) as TrustedDocument);
    },
    async put(tenantId, documents) {
      if (documents.length === 0) return;
      await redis.hset(key(tenantId), Object.fromEntries(documents.map((d) => [d.sha256, JSON.stringify(d)])));
    },
    async remove(tenantId, sha256s) {
      return sha256s.length === 0 ? 0 : redis.hdel(key(tenantId), ...sha256s);
    },
  };
}
