import { MINUTE_MS, type RecordStore } from './record-store.js';
import { decodeBlock, type RequestRecord } from './request-record.js';

/**
 * The records of [from, to) (epoch ms), oldest first, one array per minute. Each instance's
 * blocks are sorted already; the minute's blocks of several instances are merged by time (a
 * stable sort of sorted runs, which V8's TimSort merges in linear time). The next minute is
 * fetched while this one is decoded and handed out, so reading overlaps the Redis round trips.
 * A request that finished after its minute was read is in its minute all the same (records are
 * filed by the time the request was accepted): read a minute once it is over and flushed.
 */
export async function* readRecords(store: RecordStore, range: { from: number; to: number }): AsyncGenerator<RequestRecord[]> {
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
    for (const block of blocks) decodeBlock(block, records);
    records.sort((a, b) => a.at - b.at);
    const inRange =
      records[0] !== undefined && records[0].at >= from && records[records.length - 1]!.at < to ? records : records.filter((r) => r.at >= from && r.at < to);
    if (inRange.length > 0) yield inRange;
    minute += 1;
  }
}
