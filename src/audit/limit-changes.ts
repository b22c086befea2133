import type { RedisClient } from '../stores/redis.js';
import type { PlanLimits } from '../config/schema.js';
import type { AuditConfig } from '../config/billing-schema.js';

/** Who made a change: a platform admin, a Stripe event, a config reload, or time (an override or grace period running out). */
export type ChangeSource = 'admin' | 'billing' | 'config' | 'expiry';

/** One change to a tenant's plan or limits, with the plan in force before and after it. */
export interface LimitChange {
  /** Epoch ms. */
  at: number;
  /** The platform-admin key id, `stripe`, `config` or `clock`. */
  by: string;
  tenantId: string;
  /**
   * `set` / `clear` (admin), `subscription` (billing), `reload` (config), `expired` (an override or
   * grace period ended); shadow limits (src/shadow/): `shadow` / `shadow-clear` (admin: evaluated,
   * never enforced), `promote` (admin: the shadow enforced, `planId` and `limits` what it set).
   */
  action: 'set' | 'clear' | 'subscription' | 'reload' | 'expired' | 'shadow' | 'shadow-clear' | 'promote';
  /** The plan the tenant was moved to, if any. */
  planId: string | null;
  limits: PlanLimits;
  /** Epoch ms the change lapses; null = until cleared. */
  expiresAt: number | null;
  /** Absent on entries written before sources were recorded: `admin`. */
  source?: ChangeSource;
  /** The Stripe event id of a billing change. */
  eventId?: string | null;
  /** The plan in force before and after, `plan (source)`; absent on older entries. */
  before?: string | null;
  after?: string | null;
  /** Unique and ordered: the cursor of the paged list. Set by `record`. */
  id?: string;
}

/** One page of the audit trail, newest first; `endCursor` goes in the next call's `after`. */
export interface LimitChangePage {
  entries: LimitChange[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface AuditQuery {
  tenantId?: string;
  first: number;
  /** The `id` of the last entry of the previous page. */
  after?: string;
}

/**
 * Who changed which tenant's plan or limits, when and from what to what, newest first.
 * Append-only from the API's point of view; entries older than `audit.retentionDays` or beyond
 * `audit.maxEntries` are dropped.
 */
export interface AuditLog {
  record(change: LimitChange): Promise<void>;
  /**
   * Records the change unless one with the same `key` was recorded in the last day: what every
   * instance notices at once (a config reload, an override running out) is written once.
   */
  recordOnce(key: string, change: LimitChange): Promise<void>;
  list(q: { tenantId?: string; first: number }): Promise<LimitChange[]>;
  page(q: AuditQuery): Promise<LimitChangePage>;
}

export const AUDIT_MAX = 10_000;

/** The STORE_UNAVAILABLE message when the change landed but its audit entry did not. */
export const AUDIT_STORE_DOWN = 'The change is applied, but the audit list cannot be written: its store cannot be reached (repeating the change records it).';

type Policy = () => AuditConfig;
const DEFAULT_POLICY: Policy = () => ({ retentionDays: 90, maxEntries: AUDIT_MAX });
const DAY_MS = 24 * 3600 * 1000;

/** `at` in base 36, padded so ids sort as their times, then a sequence number that breaks ties. */
const idOf = (at: number, seq: number) => `${at.toString(36).padStart(9, '0')}-${seq.toString(36).padStart(6, '0')}`;

/** Newest first: the entries after the cursor, filtered, one more than asked to tell whether a next page exists. */
function pageOf(entries: Iterable<LimitChange>, q: AuditQuery, oldest: number): LimitChangePage {
  const found: LimitChange[] = [];
  for (const entry of entries) {
    if (entry.at < oldest) break;
    const id = entry.id ?? idOf(entry.at, 0);
    if (q.after !== undefined && id >= q.after) continue;
    if (q.tenantId !== undefined && entry.tenantId !== q.tenantId) continue;
    found.push({ ...entry, id });
    if (found.length > q.first) break;
  }
  const entriesOut = found.slice(0, q.first);
  return { entries: entriesOut, endCursor: entriesOut.at(-1)?.id ?? null, hasNextPage: found.length > q.first };
}

/** One process: an array. */
export function createMemoryAuditLog(policy: Policy = DEFAULT_POLICY): AuditLog {
  const entries: LimitChange[] = [];
  let seq = 0;
  const once = new Set<string>();
  const log: AuditLog = {
    async recordOnce(key, change) {
      if (once.has(key)) return;
      if (once.size >= 10_000) once.clear(); // bounded: a key only matters for the moments every instance notices the same change
      once.add(key);
      await log.record(change);
    },
    async record(change) {
      entries.unshift({ ...change, id: idOf(change.at, ++seq) });
      const { maxEntries, retentionDays } = policy();
      const oldest = Date.now() - retentionDays * DAY_MS;
      while (entries.length > maxEntries || (entries.length > 0 && entries.at(-1)!.at < oldest)) entries.pop();
    },
    async list({ tenantId, first }) {
      return (await log.page({ ...(tenantId === undefined ? {} : { tenantId }), first })).entries;
    },
    async page(q) {
      return pageOf(entries, q, Date.now() - policy().retentionDays * DAY_MS);
    },
  };
  return log;
}

const KEY = 'audit:limit-changes';
const SEQ_KEY = 'audit:limit-changes:seq';
/** Old entries removed from the tail per write, at most: the list shrinks to its retention over a few writes. */
const TRIM_PER_WRITE = 50;

/** Shared by every instance: a Redis list, newest first (LPUSH + LTRIM in one MULTI), read in full (at most `maxEntries`) to page. */
export function createRedisAuditLog(redis: RedisClient, policy: Policy = DEFAULT_POLICY): AuditLog {
  const parse = (json: string): LimitChange | null => {
    try {
      return JSON.parse(json) as LimitChange;
    } catch {
      // An unreadable entry is skipped, not fatal: the list is for people to read.
      return null;
    }
  };
  const log: AuditLog = {
    async recordOnce(key, change) {
      const first = await redis.set(`audit:once:${key}`, '1', 'EX', 24 * 3600, 'NX');
      if (first === 'OK') await log.record(change);
    },
    async record(change) {
      const { maxEntries, retentionDays } = policy();
      const seq = await redis.incr(SEQ_KEY);
      await redis
        .multi()
        .lpush(KEY, JSON.stringify({ ...change, id: idOf(change.at, seq) }))
        .ltrim(KEY, 0, maxEntries - 1)
        .exec();
      // Entries past their retention leave from the tail (the oldest end).
      const tail = await redis.lrange(KEY, -TRIM_PER_WRITE, -1);
      const oldest = Date.now() - retentionDays * DAY_MS;
      let expired = 0;
      for (let i = tail.length - 1; i >= 0 && (parse(tail[i]!)?.at ?? 0) < oldest; i--) expired++;
      if (expired > 0) await redis.ltrim(KEY, 0, -1 - expired);
    },
    async list({ tenantId, first }) {
      return (await log.page({ ...(tenantId === undefined ? {} : { tenantId }), first })).entries;
    },
    async page(q) {
      const raw = await redis.lrange(KEY, 0, policy().maxEntries - 1);
      const entries = raw.map(parse).filter((e): e is LimitChange => e !== null);
      return pageOf(entries, q, Date.now() - policy().retentionDays * DAY_MS);
    },
  };
  return log;
}
