import { admits } from './caps.js';
import { storedBytes, type TrustedDocument, type TrustedDocumentStore } from './store.js';

interface Held {
  documents: Map<string, { document: TrustedDocument; bytes: number }>;
  /** Sum of the documents' `bytes`. */
  bytes: number;
}

/** One process's documents, in its heap: the caps bound what a tenant can make it hold. */
export function createMemoryTrustedDocumentStore(): TrustedDocumentStore {
  const byTenant = new Map<string, Held>();
  // Read for tenants that registered nothing; never written.
  const EMPTY: Held = { documents: new Map(), bytes: 0 };
  const read = (tenantId: string) => byTenant.get(tenantId) ?? EMPTY;
  return {
    get: async (tenantId, sha256) => read(tenantId).documents.get(sha256)?.document ?? null,
    list: async (tenantId) => [...read(tenantId).documents.values()].map((entry) => entry.document),
    // Synchronous from the check to the last write: no other registration runs in between.
    async put(tenantId, documents, caps) {
      const held = read(tenantId);
      // Last of the same hash wins, as in Redis's HSET.
      const incoming = new Map(documents.map((d) => [d.sha256, { document: d, bytes: storedBytes(d) }]));
      const before = { count: held.documents.size, bytes: held.bytes };
      const after = { ...before };
      for (const [sha256, entry] of incoming) {
        const old = held.documents.get(sha256);
        if (!old) after.count += 1;
        after.bytes += entry.bytes - (old?.bytes ?? 0);
      }
      if (!admits(before, after, caps)) return { stored: false, before, after };
      if (incoming.size === 0) return { stored: true, before, after };
      let target = byTenant.get(tenantId);
      if (!target) {
        target = { documents: new Map(), bytes: 0 };
        byTenant.set(tenantId, target);
      }
      for (const [sha256, entry] of incoming) target.documents.set(sha256, entry);
      target.bytes = after.bytes;
      return { stored: true, before, after };
    },
    async remove(tenantId, sha256s) {
      const held = byTenant.get(tenantId);
      if (!held) return 0;
      let removed = 0;
      for (const sha256 of sha256s) {
        const entry = held.documents.get(sha256);
        if (!entry) continue;
        held.documents.delete(sha256);
        held.bytes -= entry.bytes;
        removed += 1;
      }
      if (held.documents.size === 0) byTenant.delete(tenantId);
      return removed;
    },
  };
}
