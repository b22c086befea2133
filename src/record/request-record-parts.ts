import type { Config } from '../config/schema.js';
import type { LeaseTrail } from '../limits/limiter/lease-trail.js';
import type { Adjustment, StoreStamp } from '../limits/store/types.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import { createLeaseEvents } from './lease-events.js';
import { createOperationBook, type OperationBook } from './operation-book.js';
import { createMemoryOperationStore, createRedisOperationStore, type OperationStore } from './operation-store.js';
import { createMemoryRecordStore, createRedisRecordStore, type RecordStore } from './record-store.js';
import { createRequestRecorder, type RequestRecorder } from './recorder.js';
import { createSettleStamps, type SettleStamps } from './settle-stamps.js';

/** The request record's parts as the gateway wires them (gateway.ts): written like the usage, read by replays. */
export interface RequestRecordParts {
  store: RecordStore;
  recorder: RequestRecorder;
  /** The operations the record names (text, name, variables), for cost calibration's replay (operation-book.ts). */
  operations: OperationStore;
  book: OperationBook;
  /** With a shared limit store: each record waits for its settle, to note when it landed; null in one process (it lands at once). */
  settleStamps: SettleStamps | null;
  /**
   * With a shared limit store, what the limiter tells the record: the settles the store applied
   * (`settledAt`, `settleSeq`, lease adjustments) and the leases it granted (lease-event.ts); null in one process.
   */
  fromLimiter: { onSettled(adjustments: readonly Adjustment[], stamp: StoreStamp): void; leaseTrail: LeaseTrail } | null;
  /** Writes what is buffered and stops. */
  close(): Promise<unknown>;
}

/** The request record (RECORD.md), in Redis when there is one, else in process; null when `record.enabled` is off. */
export function createRequestRecordParts(options: {
  config: Config['record'];
  redis: RedisClient | null;
  /** Limits decided in a shared store (settles land after the response). */
  sharedLimits: boolean;
  logger: Logger;
}): RequestRecordParts | null {
  const { config, redis, logger } = options;
  if (!config.enabled) return null;
  const retentionMs = config.retentionDays * 86_400_000;
  const settleStamps = options.sharedLimits ? createSettleStamps() : null;
  const store = redis ? createRedisRecordStore(redis, { retentionMs }) : createMemoryRecordStore({ retentionMs });
  const recorder = createRequestRecorder({
    store,
    intervalMs: config.flushIntervalMs,
    logger,
    ...(settleStamps ? { pending: settleStamps.pending } : {}),
  });
  const operations = redis ? createRedisOperationStore(redis) : createMemoryOperationStore();
  const book = createOperationBook({ store: operations, logger, retentionMs, intervalMs: config.flushIntervalMs });
  const leaseEvents = settleStamps ? createLeaseEvents((event) => recorder.event(event)) : null;
  const fromLimiter =
    settleStamps && leaseEvents
      ? {
          onSettled(adjustments: readonly Adjustment[], stamp: StoreStamp): void {
            settleStamps.settled(adjustments, stamp);
            leaseEvents.settled(adjustments, stamp);
          },
          leaseTrail: leaseEvents,
        }
      : null;
  return { store, recorder, operations, book, settleStamps, fromLimiter, close: () => Promise.all([recorder.close(), book.close()]) };
}
