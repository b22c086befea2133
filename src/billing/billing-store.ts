import type { RedisClient } from '../stores/redis.js';
import { createPolledHash } from '../stores/polled-hash.js';
import type { Logger } from '../observability/logger.js';
import type { BillingPlan } from './billing-plan.js';

/** A Checkout Session the tenant started and whose subscription event has not arrived yet. */
export interface PendingUpgrade {
  planId: string;
  sessionId: string;
  /** Epoch ms. */
  at: number;
}

/** What the webhook ledger knows of an event id: first delivery, already applied, or being applied elsewhere. */
export type EventClaim = 'new' | 'done' | 'busy';

/**
 * Billing's state, shared by every instance: each tenant's billing plan (read from a local
 * snapshot on the request path), which Stripe customer is which tenant, the webhook events
 * already applied, and the upgrades waiting for their event.
 */
export interface BillingStore {
  get(tenantId: string): BillingPlan | undefined;
  list(): BillingPlan[];
  /**
   * Replaces the tenant's record with `change(current)` unless another writer changed it
   * in between (then reads again and retries); `change` returning null leaves it as it is.
   * Resolves to the record written, or null when nothing was.
   */
  update(
    tenantId: string,
    change: (current: BillingPlan | undefined) => BillingPlan | null,
  ): Promise<{ before: BillingPlan | undefined; after: BillingPlan } | null>;
  tenantOfCustomer(customerId: string): Promise<string | null>;
  customerOfTenant(tenantId: string): Promise<string | null>;
  linkCustomer(customerId: string, tenantId: string): Promise<void>;
  /** Marks the event in progress for a minute, unless it is already done or in progress. */
  claimEvent(eventId: string): Promise<EventClaim>;
  /** `done` is kept 30 days (Stripe retries for 3); `failed` frees the id for Stripe's retry. */
  settleEvent(eventId: string, outcome: 'done' | 'failed'): Promise<void>;
  pending(tenantId: string): Promise<PendingUpgrade | null>;
  setPending(tenantId: string, pending: PendingUpgrade | null): Promise<void>;
  /** Re-reads the shared snapshot now (tests; the poll does it otherwise). */
  refresh(): Promise<void>;
  close(): void;
}

const DONE_TTL_SECONDS = 30 * 24 * 3600;
const BUSY_TTL_SECONDS = 60;

/** One process: maps. */
export function createMemoryBillingStore(): BillingStore {
  const plans = new Map<string, BillingPlan>();
  const customers = new Map<string, string>();
  const events = new Map<string, 'done' | 'busy'>();
  const pending = new Map<string, PendingUpgrade>();
  return {
    get: (tenantId) => plans.get(tenantId),
    list: () => [...plans.values()],
    async update(tenantId, change) {
      const before = plans.get(tenantId);
      const after = change(before);
      if (!after) return null;
      plans.set(tenantId, after);
      return { before, after };
    },
    tenantOfCustomer: async (customerId) => customers.get(customerId) ?? null,
    customerOfTenant: async (tenantId) => [...customers].find(([, t]) => t === tenantId)?.[0] ?? null,
    linkCustomer: async (customerId, tenantId) => void customers.set(customerId, tenantId),
    async claimEvent(eventId) {
      const state = events.get(eventId);
      if (state) return state;
      events.set(eventId, 'busy');
      return 'new';
    },
    async settleEvent(eventId, outcome) {
      if (outcome === 'done') events.set(eventId, 'done');
      else events.delete(eventId);
    },
    pending: async (tenantId) => pending.get(tenantId) ?? null,
    async setPending(tenantId, p) {
      if (p) pending.set(tenantId, p);
      else pending.delete(tenantId);
    },
    refresh: async () => {},
    close: () => {},
  };
}

const PLANS_KEY = 'billing:plans';
const CUSTOMERS_KEY = 'billing:customers';
const TENANT_CUSTOMERS_KEY = 'billing:tenant-customers';
const PENDING_KEY = 'billing:pending';
const eventKey = (eventId: string) => `billing:event:${eventId}`;

/** Compare-and-set of one hash field: writes ARGV[3] only while the field still holds ARGV[2] ('' = absent). */
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

const CAS_COMMAND = 'billingPlanCas';
const UPDATE_ATTEMPTS = 20;
type CasCommand = (numberOfKeys: number, key: string, field: string, expected: string, value: string) => Promise<unknown>;

/** Shared through Redis; the plans are a polled hash like the runtime overrides (limits/overrides.ts). */
export function createRedisBillingStore(options: { redis: RedisClient; pollMs: number; logger: Logger }): BillingStore {
  const { redis } = options;
  // EVALSHA, with ioredis resending it as EVAL on NOSCRIPT (a restarted Redis).
  redis.defineCommand(CAS_COMMAND, { lua: CAS_SCRIPT });
  const compareAndSet = (redis as unknown as Record<string, CasCommand>)[CAS_COMMAND]!.bind(redis);
  const plans = createPolledHash<BillingPlan>({
    redis,
    key: PLANS_KEY,
    pollMs: options.pollMs,
    logger: options.logger,
    parse: parsePlan,
    what: 'billing plan',
  });
  return {
    get: plans.get,
    list: plans.values,
    async update(tenantId, change) {
      // Two events of one tenant on two instances at once is rare; each lost round waits a few
      // ms at random so contenders spread out. Past the attempts the caller answers 503 and
      // Stripe delivers again.
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        const raw = await redis.hget(PLANS_KEY, tenantId);
        const before = raw === null ? undefined : (parsePlan(raw) ?? undefined);
        const after = change(before);
        if (!after) return null;
        const json = JSON.stringify(after);
        const written = await compareAndSet(1, PLANS_KEY, tenantId, raw ?? '', json);
        if (written === 1) {
          plans.remember(tenantId, after);
          return { before, after };
        }
      }
      throw new Error(`billing plan of tenant "${tenantId}" kept changing under ${UPDATE_ATTEMPTS} attempts to update it`);
    },
    tenantOfCustomer: (customerId) => redis.hget(CUSTOMERS_KEY, customerId),
    customerOfTenant: (tenantId) => redis.hget(TENANT_CUSTOMERS_KEY, tenantId),
    async linkCustomer(customerId, tenantId) {
      await redis.hset(CUSTOMERS_KEY, customerId, tenantId);
      await redis.hset(TENANT_CUSTOMERS_KEY, tenantId, customerId);
    },
    async claimEvent(eventId) {
      const set = await redis.set(eventKey(eventId), 'busy', 'EX', BUSY_TTL_SECONDS, 'NX');
      if (set === 'OK') return 'new';
      return (await redis.get(eventKey(eventId))) === 'done' ? 'done' : 'busy';
    },
    async settleEvent(eventId, outcome) {
      if (outcome === 'done') await redis.set(eventKey(eventId), 'done', 'EX', DONE_TTL_SECONDS);
      else await redis.del(eventKey(eventId));
    },
    async pending(tenantId) {
      const raw = await redis.hget(PENDING_KEY, tenantId);
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as PendingUpgrade;
      } catch {
        return null;
      }
    },
    async setPending(tenantId, p) {
      if (p) await redis.hset(PENDING_KEY, tenantId, JSON.stringify(p));
      else await redis.hdel(PENDING_KEY, tenantId);
    },
    refresh: plans.refresh,
    close: plans.close,
  };
}

function parsePlan(json: string): BillingPlan | null {
  try {
    const value = JSON.parse(json) as BillingPlan;
    if (typeof value.tenantId !== 'string' || typeof value.paidPlanId !== 'string' || typeof value.status !== 'string') return null;
    return value;
  } catch {
    return null;
  }
}
