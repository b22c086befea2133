import { addCounters, emptyCounters, type Counters } from './counters.js';
import type { Aggregate } from './store.js';

/** One aggregate waiting for a flush. */
export interface BufferEntry {
  aggregate: Aggregate & { fields: Map<string, Counters> };
  /** Date.now() when the entry's first event was recorded (for the flush lag). */
  since: number;
}

/**
 * The meter's buffer (meter.ts): aggregates by (scope, minute, tenant, plan, client), bounded in
 * keys held, one per aggregate and one per root-field counter of each.
 */
export class MeterBuffer {
  #entries = new Map<string, BufferEntry>();
  #held = 0;

  constructor(readonly maxKeys: number) {}

  /** Keys held now (aggregates and their root-field counters). */
  get held(): number {
    return this.#held;
  }

  get(key: string): BufferEntry | undefined {
    return this.#entries.get(key);
  }

  /**
   * The entry for `key`, made if needed, with room reserved for `newFields` more root-field
   * counters; null (nothing reserved) when that would pass the bound.
   */
  reserve(key: string, entry: BufferEntry | undefined, newFields: number, make: () => BufferEntry): BufferEntry | null {
    const needed = (entry ? 0 : 1) + newFields;
    if (this.#held + needed > this.maxKeys) return null;
    this.#held += needed;
    if (entry) return entry;
    const created = make();
    this.#entries.set(key, created);
    return created;
  }

  /** The entry's counters of `field`, made if needed (room reserved by `reserve`). */
  fieldCounters(entry: BufferEntry, field: string): Counters {
    let counters = entry.aggregate.fields.get(field);
    if (!counters) {
      counters = emptyCounters();
      entry.aggregate.fields.set(field, counters);
    }
    return counters;
  }

  /** Puts an unwritten aggregate back for the next flush, whole or not at all (sums stay exact). */
  requeue(aggregate: Aggregate, since: number): boolean {
    const key = entryKey(aggregate.scope, aggregate.minute, aggregate.tenantId, aggregate.planId, aggregate.clientId);
    const entry = this.#entries.get(key);
    let newFields = 0;
    for (const field of aggregate.fields.keys()) if (!entry?.aggregate.fields.has(field)) newFields += 1;
    const slot = this.reserve(key, entry, newFields, () => ({ aggregate: { ...aggregate, counters: emptyCounters(), fields: new Map() }, since }));
    if (!slot) return false;
    slot.since = Math.min(slot.since, since);
    addCounters(slot.aggregate.counters, aggregate.counters);
    for (const [field, counters] of aggregate.fields) addCounters(this.fieldCounters(slot, field), counters);
    return true;
  }

  /** Everything held, for a flush; the buffer starts empty again. */
  take(): BufferEntry[] {
    const entries = [...this.#entries.values()];
    this.#entries = new Map();
    this.#held = 0;
    return entries;
  }
}

/** An aggregate's key in the buffer. */
export function entryKey(scope: Aggregate['scope'], minute: number, tenantId: string, planId: string, clientId: string): string {
  const last = lastKey;
  if (last.minute === minute && last.clientId === clientId && last.tenantId === tenantId && last.planId === planId && last.scope === scope) return last.key;
  const key = `${scope}\n${minute}\n${tenantId}\n${planId}\n${clientId}`;
  lastKey = { scope, minute, tenantId, planId, clientId, key };
  return key;
}

/**
 * The last key made, handed out again for the same parts: a busy key's requests of one minute
 * follow one another, and the same string object keeps its hash, where a new one is hashed again
 * by the buffer's map on every request.
 */
let lastKey = { scope: '', minute: -1, tenantId: '', planId: '', clientId: '', key: '' };
