import type { LeaseEvent } from './lease-event.js';
import { MINUTE_MS, type RecordStore } from './record-store.js';
import { decodeBlock, type RequestRecord } from './request-record.js';

/** One minute of the record: its requests (by acceptance time) and its lease events (by store time), each oldest first. */
export interface RecordedMinute {
  records: RequestRecord[];
  events: LeaseEvent[];
}

/**
 * The record of [from, to) (epoch ms), oldest first, one minute at a time. Each instance's
 * blocks are sorted already; the minute's blocks of several instances are merged by time (a
 * stable sort of sorted runs, which V8's TimSort merges in linear time). The next minute is
 * fetched while this one is decoded and handed out, so reading overlaps the Redis round trips.
 * A request that finished after its minute was read is in its minute all the same (records are
 * filed by the time the request was accepted): read a minute once it is over and flushed.
 */
export async function* readMinutes(store: RecordStore, range: { from: number; to: number }): AsyncGenerator<RecordedMinute> {
  const { from, to } = range;
  if (!(to > from)) return;
  const last = Math.floor((to - 1) / MINUTE_MS);
  let minute = Math.floor(from / MINUTE_MS);
  let next: Promise<Buffer[]> | null = store.blocks(minute);
  while (next) {
    const blocks = await next;
    next = minute < last ? store.blocks(minute + 1) : null;
    // Keeps the prefetch from rejecting unobserved while this minute is decoded.
    next?.catch(() => {});
    const records: RequestRecord[] = [];
    const events: LeaseEvent[] = [];
    for (const block of blocks) decodeBlock(block, records, events);
    records.sort((a, b) => a.at - b.at);
    events.sort((a, b) => a.at - b.at);
    const inRange =
      records[0] !== undefined && records[0].at >= from && records[records.length - 1]!.at < to ? records : records.filter((r) => r.at >= from && r.at < to);
    const eventsInRange = events.filter((e) => e.at >= from && e.at < to);
    if (inRange.length > 0 || eventsInRange.length > 0) yield { records: inRange, events: eventsInRange };
    minute += 1;
  }
}

/** The requests of [from, to), oldest first, one array per minute (`readMinutes` without the lease events). */
export async function* readRecords(store: RecordStore, range: { from: number; to: number }): AsyncGenerator<RequestRecord[]> {
  for await (const minute of readMinutes(store, range)) if (minute.records.length > 0) yield minute.records;
}
