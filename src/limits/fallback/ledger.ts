import { calendarPeriod } from '../store/calendar.js';
import { placementOf } from '../store/placement.js';
import { charge, inWindow, refund, subBucketMs, subBucketOf, type SubBucket } from '../store/sliding-window.js';
import type { Adjustment, Dimension, LimitDecision } from '../store/types.js';

/**
 * An amount admitted in one sub-bucket (sliding) or period (calendar), and its latest time: kept by
 * the store's rules (`charge`: the latest time never moves back; `refund`: never below 0).
 */
type Slot = SubBucket;

interface KeyRecord {
  dimension: Dimension;
  /** Store-clock ms and `used` of the shared store's last decision on this key (0, -1: none). */
  sharedAt: number;
  sharedUsed: number;
  /** What this instance admitted on the key (through the store or locally), by slot id. */
  own: Map<number, Slot>;
  /** What it admitted locally (or added while the store failed) that the store has not seen yet. */
  pending: Map<number, Slot>;
}

/** What the shared store last said about a key, while that is still about the current window. */
export interface SharedKnowledge {
  at: number;
  used: number;
}

/** Undoes a local admission's pending part if the store turns out to have charged it after all. */
export interface AdmissionToken {
  dims: readonly Dimension[];
  at: number;
}

export interface LedgerOptions {
  /** Keys remembered at most; past it a sweep drops the least recently decided. Default 200_000. */
  maxKeys?: number;
}

/**
 * What one instance knows about its own limit decisions, so that a Redis failure loosens limits
 * only within the bound ALGORITHM.md states:
 * - the shared store's last verdict per key (`used` at a time), from which the local fallback
 *   takes only its share of what was *remaining*;
 * - its own admissions per sub-bucket for the current window (and per calendar period), which it
 *   writes back if Redis comes back empty;
 * - its local admissions that Redis has not seen, written back when Redis returns.
 * Memory: one record per active key, at most N + 1 slots each; swept as windows pass.
 */
export function createLedger(options: LedgerOptions = {}) {
  const maxKeys = options.maxKeys ?? 200_000;
  const records = new Map<string, KeyRecord>();

  const recordOf = (dimension: Dimension): KeyRecord => recordIn(records, dimension);

  const replays = (slotsOf: (record: KeyRecord) => Map<number, Slot>) => replaysOf(records, slotsOf);

  return {
    /**
     * A decision the shared store made (admitted or not): remembered on the hot path. A lease
     * charged `times` the amounts at `chargedAt` (its end): its own record says the same.
     */
    sharedDecision(dims: readonly Dimension[], decision: LimitDecision, times = 1, chargedAt = decision.now): void {
      for (let i = 0; i < dims.length; i++) {
        const dimension = dims[i]!;
        const record = recordOf(dimension);
        record.sharedAt = decision.now;
        record.sharedUsed = decision.results[i]!.used;
        if (decision.allowed && charged(dimension)) charge(record.own, slotOf(dimension, chargedAt), times * dimension.amount, chargedAt);
      }
    },

    /** The store's last verdict on `dimension`'s key, if it is about the window of `now`. */
    knowledge(dimension: Dimension, now: number): SharedKnowledge | undefined {
      return knowledgeOf(records.get(dimension.key), dimension, now);
    },

    /** A request admitted locally: the store must be told when it is back. */
    localAdmission(dims: readonly Dimension[], at: number): AdmissionToken {
      for (const dimension of dims) {
        if (!charged(dimension)) continue;
        const record = recordOf(dimension);
        const id = slotOf(dimension, at);
        charge(record.own, id, dimension.amount, at);
        charge(record.pending, id, dimension.amount, at);
      }
      return { dims, at };
    },

    /** A check that timed out reached the store after all and was charged there: nothing to write back. */
    chargedLate(token: AdmissionToken): void {
      for (const dimension of token.dims) {
        const record = records.get(dimension.key);
        if (record && charged(dimension)) refund(record.pending, slotOf(dimension, token.at), dimension.amount);
      }
    },

    /**
     * An adjustment the store did not take (it failed), or one of a local charge: kept in this
     * instance's own record, and additions written back when the store returns. A refund of a
     * local charge shrinks what will be written back; a refund of a charge the store has is
     * dropped (strict: the store keeps the larger amount).
     */
    unsentAdjustment({ dimension, at, delta }: Adjustment, { local }: { local: boolean }): void {
      const record = recordOf(dimension);
      const id = slotOf(dimension, at);
      if (delta > 0) {
        charge(record.own, id, delta, at);
        charge(record.pending, id, delta, at);
      } else if (delta < 0) {
        refund(record.own, id, -delta);
        if (local) refund(record.pending, id, -delta);
      }
    },

    /** A refund or addition the store applied: keeps the own record in step. */
    sentAdjustment(adjustment: Adjustment, storeNow: number): void {
      const { dimension, at, delta } = adjustment;
      const record = records.get(dimension.key);
      if (record === undefined) return;
      const when = placementOf(adjustment) === 'now' ? storeNow : at;
      if (delta > 0) charge(record.own, slotOf(dimension, when), delta, when);
      else refund(record.own, slotOf(dimension, when), -delta);
    },

    /** Everything admitted locally since the store last saw this instance, as replays; cleared. */
    takePending(): Adjustment[] {
      const out = replays((record) => record.pending);
      for (const record of records.values()) record.pending.clear();
      return out;
    },

    /**
     * Everything this instance admitted in the current windows, as replays (the store lost its
     * data); clears pending. With `lost` (a Redis Cluster where some masters lost their data), only
     * the keys it names replay everything; the others replay what is pending, as after an outage.
     */
    takeOwn(lost?: (key: string) => boolean): Adjustment[] {
      const out = replays((record) => (lost === undefined || lost(record.dimension.key) ? record.own : record.pending));
      for (const record of records.values()) record.pending.clear();
      return out;
    },

    /** Replays the store did not take go back to pending, to be tried again. */
    restorePending(adjustments: readonly Adjustment[]): void {
      for (const { dimension, at, delta } of adjustments) charge(recordOf(dimension).pending, slotOf(dimension, at), delta, at);
    },

    hasPending(): boolean {
      for (const record of records.values()) if (record.pending.size > 0) return true;
      return false;
    },

    /** Drops slots that left their window and keys with nothing left to remember; bounds the size. */
    sweep(now: number): void {
      sweepRecords(records, now, maxKeys);
    },

    get size() {
      return records.size;
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

/** `dimension`'s record (made if new), which takes the dimension as last seen. */
function recordIn(records: Map<string, KeyRecord>, dimension: Dimension): KeyRecord {
  let record = records.get(dimension.key);
  if (record === undefined) {
    record = { dimension, sharedAt: 0, sharedUsed: -1, own: new Map(), pending: new Map() };
    records.set(dimension.key, record);
  } else {
    record.dimension = dimension;
  }
  return record;
}

/** The store's sub-bucket (sliding) or period (calendar) of `at`: the ledger keeps the store's slots. */
function slotOf(dimension: Dimension, at: number): number {
  return dimension.kind === 'sliding'
    ? subBucketOf(at, subBucketMs(dimension.windowMs, dimension.buckets))
    : Number(calendarPeriod(at, dimension.period, dimension.utcOffsetMinutes).id);
}

function charged(dimension: Dimension): boolean {
  return !dimension.checkOnly && dimension.amount > 0;
}

/** The slots `slotsOf` picks in every record, as replays placed at their latest time. */
function replaysOf(records: Map<string, KeyRecord>, slotsOf: (record: KeyRecord) => Map<number, Slot>): Adjustment[] {
  const out: Adjustment[] = [];
  for (const record of records.values()) {
    for (const slot of slotsOf(record).values()) {
      out.push({ dimension: record.dimension, at: slot.last, delta: slot.sum, placement: 'at' });
    }
  }
  return out;
}

/** The store's last verdict in `record`, if it is about the window (or period) of `now`. */
function knowledgeOf(record: KeyRecord | undefined, dimension: Dimension, now: number): SharedKnowledge | undefined {
  if (record === undefined || record.sharedUsed < 0) return undefined;
  const fresh =
    dimension.kind === 'sliding' ? inWindow(record.sharedAt, now, dimension.windowMs) : slotOf(dimension, record.sharedAt) === slotOf(dimension, now);
  return fresh ? { at: record.sharedAt, used: record.sharedUsed } : undefined;
}

/** Drops slots that left their window and records with nothing left to remember; past `maxKeys`, the least recently decided. */
function sweepRecords(records: Map<string, KeyRecord>, now: number, maxKeys: number): void {
  for (const [key, record] of records) {
    const { dimension } = record;
    const current = dimension.kind === 'calendar' ? slotOf(dimension, now) : 0;
    const gone = (slot: Slot) => (dimension.kind === 'sliding' ? !inWindow(slot.last, now, dimension.windowMs) : slotOf(dimension, slot.last) !== current);
    for (const slots of [record.own, record.pending]) {
      for (const [id, slot] of slots) if (gone(slot)) slots.delete(id);
    }
    if (record.own.size === 0 && record.pending.size === 0 && knowledgeOf(record, dimension, now) === undefined) records.delete(key);
  }
  if (records.size > maxKeys) {
    const oldest = [...records].sort((a, b) => a[1].sharedAt - b[1].sharedAt).slice(0, records.size - maxKeys);
    for (const [key] of oldest) records.delete(key);
  }
}
