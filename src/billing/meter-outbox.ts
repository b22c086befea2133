import type { RedisClient } from '../stores/redis.js';

/**
 * One meter event to send to Stripe, kept once sent until reconciliation's window has passed:
 * the outbox is also the ledger of what was sent, which reconciliation reads. About 550 bytes of
 * Redis memory each (README "Metered billing").
 */
export interface MeterEventEntry {
  /** The event's identifier in Stripe (meter-hours.ts), unique in the outbox. */
  id: string;
  tenantId: string;
  customerId: string;
  /** The meter's name in `billing.meters`, and its Stripe event name. */
  meter: string;
  /** The meter as configured when the event was built: reconciliation compares only under the same one. */
  eventName: string;
  meterId: string;
  measure: 'requests' | 'costPoints';
  /** Units (requests or cost points), a positive integer. */
  value: number;
  /** Epoch ms of the hour's start. */
  hour: number;
  /** Epoch s Stripe files the event at. */
  timestamp: number;
  /** The hour's usage as closed, or a correction reconciliation added. */
  kind: 'hour' | 'correction';
  /** `failed`: Stripe refused it for good (a 4xx other than 429) or its window passed; reported, never retried. */
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError: string | null;
  /** Epoch ms. */
  enqueuedAt: number;
  sentAt: number | null;
}

export type Settlement = { status: 'sent'; at: number } | { status: 'pending'; dueAt: number; error: string } | { status: 'failed'; error: string };

/**
 * Durable outbox of meter events, shared by every instance. Adding is idempotent by identifier,
 * and an entry is leased to one instance at a time while it sends, so the fleet sends each event
 * once unless an instance dies between Stripe's answer and settling (then another resends it
 * under the same identifier, which Stripe counts once).
 */
export interface MeterOutbox {
  /** Adds the entries whose identifier is not there yet, due now; resolves to how many were added. */
  enqueue(entries: readonly MeterEventEntry[], now: number): Promise<number>;
  /** Up to `limit` due entries, each leased for `leaseMs` (due again then, unless settled). */
  claim(now: number, limit: number, leaseMs: number): Promise<MeterEventEntry[]>;
  /** Records the outcome of one send. A `pending` outcome never undoes a `sent` one. */
  settle(entry: MeterEventEntry, outcome: Settlement): Promise<void>;
  /** The entries of hours in [from, to], any status. */
  list(from: number, to: number): Promise<MeterEventEntry[]>;
  /** Forgets the sent and refused entries of hours before `before` (unsent ones stay); resolves to how many. */
  prune(before: number): Promise<number>;
  /** How many entries are not sent yet. */
  pendingCount(): Promise<number>;
  /** The latest hour (epoch ms) closed for `meter`, or null. */
  closedThrough(meter: string): Promise<number | null>;
  /** Moves the meter's closed cursor forward to `hour` (never back). */
  markClosed(meter: string, hour: number): Promise<void>;
}

/** Every key shares one hash tag, so each script touches one Redis Cluster slot. */
const KEYS = { entries: 'meter:{outbox}:entries', due: 'meter:{outbox}:due', hours: 'meter:{outbox}:hours', closed: 'meter:{outbox}:closed' };

/** KEYS: entries, due, hours. ARGV: now, then (id, hour, json) per entry. Adds absent ids, due now. */
const ENQUEUE = `
local added = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
    added = added + 1
  end
end
return added`;

/** KEYS: entries, due. ARGV: now, limit, lease until. Leases due entries: they are due again at the lease's end. */
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  local json = redis.call('HGET', KEYS[1], id)
  if json then table.insert(out, json) else redis.call('ZREM', KEYS[2], id) end
end
return out`;

/** KEYS: entries, due. ARGV: id, json, due at ('' = settled for good). A retry never overwrites a sent entry. */
const SETTLE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
if ARGV[3] ~= '' and string.find(current, '"status":"sent"', 1, true) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
return 1`;

/** KEYS: closed. ARGV: meter, hour. Forward only, so a late instance never reopens hours. */
const MARK_CLOSED = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

type Script = (numberOfKeys: number, ...args: (string | number)[]) => Promise<unknown>;
const COMMANDS = { meterEnqueueV1: ENQUEUE, meterClaimV1: CLAIM, meterSettleV1: SETTLE, meterCloseV1: MARK_CLOSED } as const;

/** Lists read per HMGET, so a long ledger is not one huge reply. */
const READ_CHUNK = 500;

export function createRedisMeterOutbox(redis: RedisClient): MeterOutbox {
  // EVALSHA, with ioredis resending it as EVAL on NOSCRIPT (a restarted Redis).
  for (const [name, lua] of Object.entries(COMMANDS)) redis.defineCommand(name, { lua });
  const script = (name: keyof typeof COMMANDS) => (redis as unknown as Record<string, Script>)[name]!.bind(redis);
  const [enqueue, claim, settle, markClosed] = [script('meterEnqueueV1'), script('meterClaimV1'), script('meterSettleV1'), script('meterCloseV1')];

  return {
    async enqueue(entries, now) {
      if (entries.length === 0) return 0;
      const args = entries.flatMap((e) => [e.id, e.hour, JSON.stringify(e)]);
      return Number(await enqueue(3, KEYS.entries, KEYS.due, KEYS.hours, now, ...args));
    },
    async claim(now, limit, leaseMs) {
      const rows = (await claim(2, KEYS.entries, KEYS.due, now, limit, now + leaseMs)) as string[];
      return rows.map((json) => JSON.parse(json) as MeterEventEntry);
    },
    async settle(entry, outcome) {
      const next: MeterEventEntry = {
        ...entry,
        status: outcome.status,
        attempts: entry.attempts + 1,
        lastError: outcome.status === 'sent' ? null : outcome.error,
        sentAt: outcome.status === 'sent' ? outcome.at : null,
      };
      await settle(2, KEYS.entries, KEYS.due, entry.id, JSON.stringify(next), outcome.status === 'pending' ? outcome.dueAt : '');
    },
    async list(from, to) {
      const ids = await redis.zrangebyscore(KEYS.hours, from, to);
      const out: MeterEventEntry[] = [];
      for (let i = 0; i < ids.length; i += READ_CHUNK) {
        const rows = await redis.hmget(KEYS.entries, ...ids.slice(i, i + READ_CHUNK));
        for (const json of rows) if (json) out.push(JSON.parse(json) as MeterEventEntry);
      }
      return out;
    },
    async prune(before) {
      const ids = await redis.zrangebyscore(KEYS.hours, '-inf', `(${before}`);
      let pruned = 0;
      for (let i = 0; i < ids.length; i += READ_CHUNK) {
        const chunk = ids.slice(i, i + READ_CHUNK);
        // Unsent entries stay until sent or refused (an entry never goes back from sent to pending).
        const due = await redis.zmscore(KEYS.due, ...chunk);
        const settled = chunk.filter((_, j) => due[j] === null);
        if (settled.length === 0) continue;
        await redis
          .multi()
          .hdel(KEYS.entries, ...settled)
          .zrem(KEYS.hours, ...settled)
          .exec();
        pruned += settled.length;
      }
      return pruned;
    },
    pendingCount: () => redis.zcard(KEYS.due),
    async closedThrough(meter) {
      const raw = await redis.hget(KEYS.closed, meter);
      return raw === null ? null : Number(raw);
    },
    async markClosed(meter, hour) {
      await markClosed(1, KEYS.closed, meter, hour);
    },
  };
}

/** One process without Redis: the same contract in maps (durable only as long as the process). */
export function createMemoryMeterOutbox(): MeterOutbox {
  const entries = new Map<string, MeterEventEntry>();
  const due = new Map<string, number>();
  const closed = new Map<string, number>();
  return {
    async enqueue(list, now) {
      let added = 0;
      for (const e of list) {
        if (entries.has(e.id)) continue;
        entries.set(e.id, e);
        due.set(e.id, now);
        added += 1;
      }
      return added;
    },
    async claim(now, limit, leaseMs) {
      const ids = [...due]
        .filter(([, at]) => at <= now)
        .sort((a, b) => a[1] - b[1])
        .slice(0, limit)
        .map(([id]) => id);
      for (const id of ids) due.set(id, now + leaseMs);
      return ids.map((id) => entries.get(id)!);
    },
    async settle(entry, outcome) {
      const current = entries.get(entry.id);
      if (!current || (outcome.status === 'pending' && current.status === 'sent')) return;
      entries.set(entry.id, {
        ...entry,
        status: outcome.status,
        attempts: entry.attempts + 1,
        lastError: outcome.status === 'sent' ? null : outcome.error,
        sentAt: outcome.status === 'sent' ? outcome.at : null,
      });
      if (outcome.status === 'pending') due.set(entry.id, outcome.dueAt);
      else due.delete(entry.id);
    },
    list: async (from, to) => [...entries.values()].filter((e) => e.hour >= from && e.hour <= to).sort((a, b) => a.hour - b.hour),
    async prune(before) {
      const old = [...entries.values()].filter((e) => e.hour < before && e.status !== 'pending');
      for (const e of old) {
        entries.delete(e.id);
        due.delete(e.id);
      }
      return old.length;
    },
    pendingCount: async () => due.size,
    closedThrough: async (meter) => closed.get(meter) ?? null,
    async markClosed(meter, hour) {
      if (hour > (closed.get(meter) ?? -1)) closed.set(meter, hour);
    },
  };
}
