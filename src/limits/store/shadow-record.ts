import type { LimitDecision, ShadowCheck, ShadowVerdict } from './types.js';

/**
 * The shadow group's verdict from its decision as a consume of its own (null: refused without a
 * check, `refusedBy`): what limiter.lua replies for it. A held request is admitted, not refused.
 */
export function shadowVerdictOf(shadow: ShadowCheck, group: LimitDecision | null): ShadowVerdict {
  if (group === null) return { allowed: false, heldMs: 0, refusedBy: shadow.refusedBy ?? null, results: [] };
  const results = group.results.map((r) => ({ name: r.name, used: r.used, allowed: r.allowed }));
  const refused = group.allowed ? null : (results.find((r) => !r.allowed)?.name ?? null);
  return { allowed: group.allowed, heldMs: group.heldMs ?? 0, refusedBy: refused, results };
}

/**
 * The record hashes of the memory store, as limiter.lua writes them: `<subject>|<policy>|n` the
 * refusals, `|f` the first and `|l` the latest (epoch ms, as decimal strings); a hash lives
 * `recordTtlMs` after its latest refusal. Bounded as the store's keys are: one hash per tenant and
 * shadow in force, fields per key and policy.
 */
export function createShadowRecords() {
  const hashes = new Map<string, { fields: Map<string, string>; expiresAt: number }>();
  return {
    refused(shadow: ShadowCheck, policy: string, now: number): void {
      let hash = hashes.get(shadow.recordKey);
      if (hash === undefined || hash.expiresAt <= now) {
        hash = { fields: new Map(), expiresAt: 0 };
        hashes.set(shadow.recordKey, hash);
      }
      const name = `${shadow.subject}|${policy}`;
      hash.fields.set(`${name}|n`, String(Number(hash.fields.get(`${name}|n`) ?? 0) + 1));
      if (!hash.fields.has(`${name}|f`)) hash.fields.set(`${name}|f`, String(now));
      hash.fields.set(`${name}|l`, String(now));
      hash.expiresAt = now + shadow.recordTtlMs;
    },
    read(recordKey: string, now: number): Record<string, string> {
      const hash = hashes.get(recordKey);
      if (hash === undefined || hash.expiresAt <= now) return {};
      return Object.fromEntries(hash.fields);
    },
  };
}
