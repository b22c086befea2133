import type { Logger } from '../observability/logger.js';
import { addEvent, emptyCounters } from './counters.js';
import type { UsageEvent } from './event.js';
import { type BufferEntry, entryKey, MeterBuffer } from './meter-buffer.js';
import { UsageWriteError, type UsageStore } from './store.js';

export interface MeterOptions {
  store: UsageStore;
  /** Flush period, ms. Default 1000: a crash loses at most about this much usage. */
  intervalMs?: number;
  logger: Logger;
  /**
   * Aggregates held at most (one per tenant, plan, client and minute, plus one per root field of
   * each). Past it, events needing a new one are dropped and counted. Default 50_000.
   */
  maxBufferedKeys?: number;
}

export interface MeterStats {
  /** Aggregates waiting for the next flush. */
  buffered: number;
  /** Epoch ms when the last successful flush finished. */
  lastFlushAt: number | null;
  /** For the last successful flush: ms between recording its oldest event and the write landing. */
  lastFlushLagMs: number | null;
  failedFlushes: number;
  /** Events not metered: buffer full (including retries that no longer fit) or invalid ids. */
  droppedEvents: number;
}

export interface Meter {
  /** Adds the event to the in-process buffer: synchronous, no I/O, never throws. */
  record(event: UsageEvent): void;
  /** Writes the buffer in one store write (one Redis pipeline); never rejects. A failed write is kept for the next. */
  flush(): Promise<void>;
  /**
   * Stops the timer and flushes what is left. A failed write is retried (every 100 ms) until
   * everything is written or `until` (epoch ms; default: one attempt) has passed, so a Redis that
   * stalls or blips at shutdown delays the exit instead of losing the last requests' usage.
   */
  close(options?: { until?: number }): Promise<void>;
  stats(): MeterStats;
}

/** Tenant, client and plan ids go into key names: no braces (hash tags), ':' or whitespace; tenants not `_...` (fleet tag). */
const ID = /^[^\s{}:]{1,128}$/;
/** Root fields and throttle reasons become hash fields and CSV columns; others are not stored. */
const ROOT_FIELD = /^[A-Za-z_]\w*\.[A-Za-z_]\w*$/;
const REASON = /^[a-z0-9_-]{1,40}$/;

/**
 * The metering buffer and flusher. `record` sums events into one aggregate per (minute, tenant,
 * plan, client), so N requests of a tenant in one second cost a few hash increments per bucket
 * at the next flush, not N writes. Nothing touches the store on the request path.
 */
export function createMeter(options: MeterOptions): Meter {
  const { store, logger } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const maxBufferedKeys = options.maxBufferedKeys ?? 50_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new Error(`intervalMs must be a positive integer: ${intervalMs}`);
  if (!Number.isSafeInteger(maxBufferedKeys) || maxBufferedKeys < 1) {
    throw new Error(`maxBufferedKeys must be a positive integer: ${maxBufferedKeys}`);
  }

  const buffer = new MeterBuffer(maxBufferedKeys);
  let lastFlushAt: number | null = null;
  let lastFlushLagMs: number | null = null;
  let failedFlushes = 0;
  let droppedEvents = 0;
  /** Dropped since the last log line, by cause (logged once per flush). */
  let unlogged = { full: 0, invalid: 0 };

  const record = (event: UsageEvent): void => {
    try {
      const minute = Math.floor(event.at / MINUTE_MS) * MINUTE_MS;
      const key = entryKey('all', minute, event.tenantId, event.planId, event.clientId);
      const entry = buffer.get(key);
      // Ids are checked when their aggregate is made: a hit on an existing one has passed.
      if (!entry && !hasValidIds(event)) {
        droppedEvents += 1;
        unlogged.invalid += 1;
        return;
      }
      const fields = storedFields(event.rootFields, entry);
      let newFields = 0;
      for (const field of fields) if (!entry?.aggregate.fields.has(field)) newFields += 1;
      const slot = buffer.reserve(key, entry, newFields, () => ({
        aggregate: {
          scope: 'all',
          minute,
          tenantId: event.tenantId,
          planId: event.planId,
          clientId: event.clientId,
          counters: emptyCounters(),
          fields: new Map(),
        },
        since: Date.now(),
      }));
      if (!slot) {
        droppedEvents += 1;
        unlogged.full += 1;
        return;
      }
      // An unexpected reason is still a throttled request: counted under 'other'.
      const reason = event.status !== 'throttled' ? '' : event.throttledBy === null ? 'unknown' : REASON.test(event.throttledBy) ? event.throttledBy : 'other';
      addEvent(slot.aggregate.counters, event, reason);
      for (const field of fields) addEvent(buffer.fieldCounters(slot, field), event, reason);
    } catch (err) {
      // Metering must never fail a request; a bug here costs one event, logged.
      droppedEvents += 1;
      logger.error({ err }, 'usage event could not be recorded');
    }
  };

  const flushOnce = async (): Promise<void> => {
    if (unlogged.full + unlogged.invalid > 0) {
      logger.warn({ ...unlogged, maxBufferedKeys, droppedEvents }, 'usage events dropped');
      unlogged = { full: 0, invalid: 0 };
    }
    const entries = buffer.take();
    if (entries.length === 0) {
      lastFlushAt = Date.now();
      lastFlushLagMs = 0;
      return;
    }
    const oldest = entries.reduce((min, entry) => Math.min(min, entry.since), Infinity);
    try {
      await store.write(entries.map((entry) => entry.aggregate));
      lastFlushAt = Date.now();
      lastFlushLagMs = lastFlushAt - oldest;
    } catch (err) {
      failedFlushes += 1;
      const unwritten = err instanceof UsageWriteError ? err.unwritten : entries.map((entry) => entry.aggregate);
      let lost = 0;
      for (const aggregate of unwritten) {
        // Scope 'fleet' retries hold only fleet rollups; their requests are already counted for the tenant.
        if (!buffer.requeue(aggregate, oldest) && aggregate.scope !== 'fleet') lost += aggregate.counters.requests;
      }
      droppedEvents += lost;
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), kept: unwritten.length, droppedEvents: lost, failedFlushes },
        'usage flush failed; kept for the next flush',
      );
    }
  };

  let chain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  const flush = (): Promise<void> => {
    inFlight += 1;
    const run = chain.then(flushOnce).catch((err: unknown) => logger.error({ err }, 'usage flush crashed'));
    chain = run.finally(() => (inFlight -= 1));
    return chain;
  };

  const timer = setInterval(() => {
    if (inFlight === 0) void flush(); // a slow store never queues up flushes
  }, intervalMs);
  timer.unref();

  return {
    record,
    flush,
    async close({ until = 0 } = {}) {
      clearInterval(timer);
      await flush();
      while (buffer.held > 0 && Date.now() + CLOSE_RETRY_MS < until) {
        await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_MS));
        await flush();
      }
    },
    stats: () => ({ buffered: buffer.held, lastFlushAt, lastFlushLagMs, failedFlushes, droppedEvents }),
  };
}

const MINUTE_MS = 60_000;
/** Pause between flush attempts while closing. */
const CLOSE_RETRY_MS = 100;

/** The event's root fields that are stored: well-formed (or already held) and distinct. */
function storedFields(rootFields: readonly string[], entry: BufferEntry | undefined): readonly string[] {
  if (!Array.isArray(rootFields)) return [];
  let ok = true;
  for (let i = 0; i < rootFields.length && ok; i++) {
    const field = rootFields[i]!;
    ok = (entry?.aggregate.fields.has(field) || ROOT_FIELD.test(field)) && rootFields.indexOf(field) === i;
  }
  return ok ? rootFields : rootFields.filter((field, i) => ROOT_FIELD.test(field) && rootFields.indexOf(field) === i);
}

function hasValidIds(event: UsageEvent): boolean {
  return Number.isFinite(event.at) && ID.test(event.tenantId) && !event.tenantId.startsWith('_') && ID.test(event.clientId) && ID.test(event.planId);
}

/** The meter of a gateway with metering switched off (`usage.enabled: false`): records nothing. */
export function createNoopMeter(): Meter {
  return {
    record: () => {},
    flush: async () => {},
    close: async () => {},
    stats: () => ({ buffered: 0, lastFlushAt: null, lastFlushLagMs: null, failedFlushes: 0, droppedEvents: 0 }),
  };
}
