import type { RedisClient } from '../stores/redis.js';
import { planLimitsSchema, type PlanLimits } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { BillingPlan } from '../billing/billing-plan.js';

/**
 * A change to one tenant's limits made at run time by a platform admin: a plan assignment
 * and/or limit values, optionally temporary. Config stays the baseline; this sits on top.
 */
export interface RuntimeOverride {
  tenantId: string;
  planId: string | null;
  limits: PlanLimits;
  /** Epoch ms; null = until cleared. */
  expiresAt: number | null;
  setBy: string;
  setAt: number;
  /**
   * What billing says of the tenant: the layer under this override. Never stored with the
   * override; the billing layer adds it to what `get` returns (billing/plan-layers.ts).
   */
  billing?: BillingPlan;
}

export interface OverridesStore {
  /** From the local snapshot: no I/O on the request path. */
  get(tenantId: string): RuntimeOverride | undefined;
  list(): RuntimeOverride[];
  set(override: RuntimeOverride): Promise<void>;
  clear(tenantId: string): Promise<void>;
  close(): void;
}

/** One process: the map is the truth. */
export function createMemoryOverrides(): OverridesStore {
  const map = new Map<string, RuntimeOverride>();
  return {
    get: (tenantId) => map.get(tenantId),
    list: () => [...map.values()],
    set: async (o) => void map.set(o.tenantId, o),
    clear: async (tenantId) => void map.delete(tenantId),
    close: () => {},
  };
}

const HASH_KEY = 'rl:overrides';

/**
 * Shared through one Redis hash (tenant -> JSON). Every instance re-reads it every `pollMs`
 * (one HGETALL, off the request path), so a change applies everywhere within that interval;
 * the instance that made the change applies it at once. While Redis is unreachable the last
 * snapshot stays in force.
 */
export function createRedisOverrides(options: { redis: RedisClient; pollMs: number; logger: Logger }): OverridesStore & { refresh(): Promise<void> } {
  const { redis, logger } = options;
  let snapshot = new Map<string, RuntimeOverride>();

  async function refresh(): Promise<void> {
    try {
      const raw = await redis.hgetall(HASH_KEY);
      const next = new Map<string, RuntimeOverride>();
      for (const [tenantId, json] of Object.entries(raw)) {
        const parsed = parseOverride(json);
        if (parsed) next.set(tenantId, parsed);
        else logger.warn({ tenantId }, 'ignoring an unreadable runtime limit override');
      }
      snapshot = next;
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not refresh runtime limit overrides; keeping the last snapshot');
    }
  }

  const timer = setInterval(() => void refresh(), options.pollMs);
  timer.unref();
  void refresh();

  return {
    refresh,
    get: (tenantId) => snapshot.get(tenantId),
    list: () => [...snapshot.values()],
    async set(o) {
      await redis.hset(HASH_KEY, o.tenantId, JSON.stringify(o));
      snapshot = new Map(snapshot).set(o.tenantId, o);
    },
    async clear(tenantId) {
      await redis.hdel(HASH_KEY, tenantId);
      const next = new Map(snapshot);
      next.delete(tenantId);
      snapshot = next;
    },
    close: () => clearInterval(timer),
  };
}

function parseOverride(json: string): RuntimeOverride | null {
  try {
    const value = JSON.parse(json) as RuntimeOverride;
    const limits = planLimitsSchema.safeParse(value.limits);
    if (!limits.success || typeof value.tenantId !== 'string') return null;
    return { ...value, limits: limits.data };
  } catch {
    return null;
  }
}
