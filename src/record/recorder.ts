import type { Logger } from '../observability/logger.js';
import { MINUTE_MS, type RecordStore } from './record-store.js';
import type { LeaseEvent } from './lease-event.js';
import { encodeBlock, type RequestRecord } from './request-record.js';

export interface RequestRecorderOptions {
  store: RecordStore;
  logger: Logger;
  /** Flush period, ms, default 1,000 (as the meter's: a crash loses at most about this much). */
  intervalMs?: number;
  /** Records held in process at most (buffered plus a failed write kept for retry), default 100,000; past it new ones are dropped and counted. */
  maxBuffered?: number;
  /** Records to keep back for a later flush (their settle has not reached the store yet: settle-stamps.ts); default none. */
  pending?: (record: RequestRecord, now: number) => boolean;
}

export interface RequestRecorderStats {
  buffered: number;
  written: number;
  dropped: number;
  failedFlushes: number;
}

export interface RequestRecorder {
  /** Adds a record to the buffer: synchronous, no I/O, never throws. */
  record(record: RequestRecord): void;
  /** Adds a lease event (lease-event.ts), written with the records of its minute; bounded with them. */
  event(event: LeaseEvent): void;
  /** Encodes and writes the buffer (one block per minute it spans); never rejects: a failed write is kept for the next. */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, records kept back included (one attempt). */
  close(): Promise<void>;
  stats(): RequestRecorderStats;
}

/**
 * The request record's writer: requests are buffered in process and written every second as a
 * few compressed blocks (request-record.ts), off the request path like the usage meter. A failed
 * write is kept and retried at the next flush while it fits the bound.
 */
export function createRequestRecorder(options: RequestRecorderOptions): RequestRecorder {
  const { store, logger } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const maxBuffered = options.maxBuffered ?? 100_000;
  let buffer: RequestRecord[] = [];
  let events: LeaseEvent[] = [];
  /** Blocks whose write failed, with their record counts, for the next flush. */
  let pending: { minute: number; block: Buffer; records: number }[] = [];
  let pendingRecords = 0;
  let written = 0;
  let dropped = 0;
  let failedFlushes = 0;
  let flushing: Promise<void> | null = null;

  async function writeOut(force: boolean): Promise<void> {
    let records = buffer;
    buffer = [];
    const pendingRecord = options.pending;
    if (pendingRecord && !force) {
      const now = Date.now();
      records = records.filter((r) => !(pendingRecord(r, now) && buffer.push(r)));
    }
    const blocks = pending;
    pending = [];
    pendingRecords = 0;
    const leaseEvents = events;
    events = [];
    // Stable: records of one instance stay in arrival order within a millisecond.
    records.sort((a, b) => a.at - b.at);
    leaseEvents.sort((a, b) => a.at - b.at);
    // Minute by minute, oldest first: the records accepted in it and the lease events that happened in it.
    let i = 0;
    let e = 0;
    while (i < records.length || e < leaseEvents.length) {
      const minute = Math.floor(Math.min(records[i]?.at ?? Number.POSITIVE_INFINITY, leaseEvents[e]?.at ?? Number.POSITIVE_INFINITY) / MINUTE_MS);
      let j = i;
      while (j < records.length && Math.floor(records[j]!.at / MINUTE_MS) === minute) j++;
      let f = e;
      while (f < leaseEvents.length && Math.floor(leaseEvents[f]!.at / MINUTE_MS) === minute) f++;
      blocks.push({ minute, block: encodeBlock(records.slice(i, j), leaseEvents.slice(e, f)), records: j - i });
      i = j;
      e = f;
    }
    if (blocks.length === 0) return;
    try {
      await store.append(blocks);
      for (const b of blocks) written += b.records;
    } catch (err) {
      failedFlushes += 1;
      logger.warn({ err, blocks: blocks.length }, 'request record write failed; kept for the next flush');
      for (const b of blocks) {
        if (pendingRecords + buffer.length + b.records > maxBuffered) {
          dropped += b.records;
          continue;
        }
        pending.push(b);
        pendingRecords += b.records;
      }
    }
  }

  function flush(force = false): Promise<void> {
    flushing ??= writeOut(force).finally(() => {
      flushing = null;
    });
    return flushing;
  }

  const timer = setInterval(() => void flush(), intervalMs);
  /** `flush` as the interface gives it: records kept back stay so. */
  const flushNow = () => flush();
  timer.unref();

  return {
    record(record) {
      if (buffer.length + events.length + pendingRecords >= maxBuffered) {
        dropped += 1;
        return;
      }
      buffer.push(record);
    },
    event(event) {
      if (buffer.length + events.length + pendingRecords >= maxBuffered) {
        dropped += 1;
        return;
      }
      events.push(event);
    },
    flush: flushNow,
    async close() {
      clearInterval(timer);
      await flushing;
      await flush(true);
    },
    stats: () => ({ buffered: buffer.length + events.length + pendingRecords, written, dropped, failedFlushes }),
  };
}
