import { shadowSpecSchema, type ShadowSpec } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createPolledHash } from '../stores/polled-hash.js';
import type { RedisClient } from '../stores/redis.js';

/**
 * A platform admin's shadow for one tenant, set at run time (`setShadowLimits`): it replaces the
 * config's (`tenants.<id>.shadow`, then `plans.<id>.shadow`). `spec: null` switches the config's
 * off for the tenant: what a promotion leaves, since the promoted limits are then enforced.
 */
export interface RuntimeShadow {
  tenantId: string;
  spec: ShadowSpec | null;
  /** The platform-admin key id. */
  setBy: string;
  /** Epoch ms. */
  setAt: number;
}

export interface RuntimeShadows {
  /** From the local snapshot: no I/O on the request path. */
  get(tenantId: string): RuntimeShadow | undefined;
  list(): RuntimeShadow[];
  set(entry: RuntimeShadow): Promise<void>;
  /** The tenant's runtime entry removed: the config's shadow (if any) applies again. */
  clear(tenantId: string): Promise<void>;
  close(): void;
}

/** One process: the map is the truth. */
export function createMemoryRuntimeShadows(): RuntimeShadows {
  const map = new Map<string, RuntimeShadow>();
  return {
    get: (tenantId) => map.get(tenantId),
    list: () => [...map.values()],
    set: async (entry) => void map.set(entry.tenantId, entry),
    clear: async (tenantId) => void map.delete(tenantId),
    close: () => {},
  };
}

/** The hash of runtime shadows, tenant -> JSON, next to the runtime overrides (`rl:overrides`). */
export const RUNTIME_SHADOWS_KEY = 'rl:shadows';

/**
 * Shared through one Redis hash, re-read by every instance every `pollMs` (the runtime overrides'
 * interval, `limits.overridesPollMs`: 2 s), so a shadow set or promoted on one instance is
 * evaluated by all within it; the instance that wrote it at once.
 */
export function createRedisRuntimeShadows(options: { redis: RedisClient; pollMs: number; logger: Logger }): RuntimeShadows & { refresh(): Promise<void> } {
  const { redis } = options;
  const hash = createPolledHash<RuntimeShadow>({
    redis,
    key: RUNTIME_SHADOWS_KEY,
    pollMs: options.pollMs,
    logger: options.logger,
    parse: parseRuntimeShadow,
    what: 'runtime shadow limit',
  });
  return {
    refresh: hash.refresh,
    get: hash.get,
    list: hash.values,
    async set(entry) {
      await redis.hset(RUNTIME_SHADOWS_KEY, entry.tenantId, JSON.stringify(entry));
      hash.remember(entry.tenantId, entry);
    },
    async clear(tenantId) {
      await redis.hdel(RUNTIME_SHADOWS_KEY, tenantId);
      await hash.refresh();
    },
    close: hash.close,
  };
}

function parseRuntimeShadow(json: string): RuntimeShadow | null {
  try {
    const value = JSON.parse(json) as RuntimeShadow;
    if (typeof value.tenantId !== 'string' || typeof value.setBy !== 'string' || typeof value.setAt !== 'number') return null;
    if (value.spec === null) return value;
    const spec = shadowSpecSchema.safeParse(value.spec);
    return spec.success ? { ...value, spec: spec.data } : null;
  } catch {
    return null;
  }
}
