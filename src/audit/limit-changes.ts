import type { RedisClient } from '../stores/redis.js';
import type { PlanLimits } from '../config/schema.js';

/** One runtime limit change by a platform admin (`setTenantLimits` / `clearTenantLimits`). */
export interface LimitChange {
  /** Epoch ms. */
  at: number;
  /** The platform-admin key id that made it. */
  by: string;
  tenantId: string;
  action: 'set' | 'clear';
  /** The plan the tenant was moved to, if any. */
  planId: string | null;
  limits: PlanLimits;
  /** Epoch ms the change lapses; null = until cleared. */
  expiresAt: number | null;
}

/**
 * Who changed which tenant's limits and when, newest first. Append-only from the API's point of
 * view; the oldest entries beyond `max` (default 1,000) are dropped.
 */
export interface AuditLog {
  record(change: LimitChange): Promise<void>;
  list(q: { tenantId?: string; first: number }): Promise<LimitChange[]>;
}

export const AUDIT_MAX = 1000;

/** The STORE_UNAVAILABLE message when the change landed but its audit entry did not. */
export const AUDIT_STORE_DOWN = 'The change is applied, but the audit list cannot be written: its store cannot be reached (repeating the change records it).';

/** One process: an array. */
export function createMemoryAuditLog(max = AUDIT_MAX): AuditLog {
  const entries: LimitChange[] = [];
  return {
    async record(change) {
      entries.unshift(change);
      entries.length = Math.min(entries.length, max);
    },
    async list({ tenantId, first }) {
      return entries.filter((e) => tenantId === undefined || e.tenantId === tenantId).slice(0, first);
    },
  };
}

const KEY = 'audit:limit-changes';

/** Shared by every instance: a Redis list, LPUSH + LTRIM in one MULTI. */
export function createRedisAuditLog(redis: RedisClient, max = AUDIT_MAX): AuditLog {
  return {
    async record(change) {
      await redis
        .multi()
        .lpush(KEY, JSON.stringify(change))
        .ltrim(KEY, 0, max - 1)
        .exec();
    },
    async list({ tenantId, first }) {
      const raw = await redis.lrange(KEY, 0, max - 1);
      const entries: LimitChange[] = [];
      for (const json of raw) {
        try {
          const entry = JSON.parse(json) as LimitChange;
          if (tenantId === undefined || entry.tenantId === tenantId) entries.push(entry);
        } catch {
          // An unreadable entry is skipped, not fatal: the list is for people to read.
        }
        if (entries.length >= first) break;
      }
      return entries;
    },
  };
}
