import type { RedisClient } from '../stores/redis.js';

/** Minutes are keyed by their UTC epoch minute (`Math.floor(ms / 60_000)`). */
export const MINUTE_MS = 60_000;

/**
 * Where request records live: per UTC minute of the requests' time, the blocks written for it
 * (request-record.ts), in the order they were written. Several gateway instances append to
 * the same minute.
 */
export interface RecordStore {
  /** Appends blocks, each to its minute; rejects when the write failed (the caller keeps them for the next try). */
  append(blocks: readonly { minute: number; block: Buffer }[]): Promise<void>;
  /** The blocks of one minute, in the order written. */
  blocks(minute: number): Promise<Buffer[]>;
}

export interface RecordRetention {
  /** How long a minute is kept after its last write, default 8 days (replaying last week needs a week and a day of slack). */
  retentionMs?: number;
  /** Blocks kept per minute, oldest dropped first, default 10,000 (about 100 instances flushing every second: 6,000). */
  maxBlocksPerMinute?: number;
}

const DEFAULT_RETENTION_MS = 8 * 24 * 60 * MINUTE_MS;
const DEFAULT_MAX_BLOCKS = 10_000;

/** `record:<epoch minute>`: one Redis stream per minute, one entry (field `b`) per block. */
export function recordKey(minute: number): string {
  return `record:${minute}`;
}

/**
 * Redis: a stream per minute (XADD with an approximate MAXLEN, so a minute is bounded even if
 * the writers misbehave), its TTL refreshed on every write as the usage buckets' are. Each
 * minute's writes are one pipeline touching one key, so it works on a Redis Cluster as is.
 * Read with XRANGE in pages of 500 blocks.
 */
export function createRedisRecordStore(redis: RedisClient, retention: RecordRetention = {}): RecordStore {
  const retentionMs = retention.retentionMs ?? DEFAULT_RETENTION_MS;
  const maxBlocks = retention.maxBlocksPerMinute ?? DEFAULT_MAX_BLOCKS;
  return {
    async append(blocks) {
      const byMinute = new Map<number, Buffer[]>();
      for (const { minute, block } of blocks) {
        const list = byMinute.get(minute);
        if (list) list.push(block);
        else byMinute.set(minute, [block]);
      }
      await Promise.all(
        [...byMinute].map(async ([minute, list]) => {
          const key = recordKey(minute);
          const pipeline = redis.pipeline();
          for (const block of list) pipeline.xadd(key, 'MAXLEN', '~', maxBlocks, '*', 'b', block);
          pipeline.pexpire(key, retentionMs);
          const results = (await pipeline.exec()) ?? [];
          const failed = results.find(([err]) => err);
          if (failed) throw failed[0];
        }),
      );
    },
    async blocks(minute) {
      const key = recordKey(minute);
      const out: Buffer[] = [];
      let start = '-';
      for (;;) {
        const page = (await redis.xrangeBuffer(key, start, '+', 'COUNT', 500)) as [Buffer, Buffer[]][];
        for (const [, fields] of page) {
          const at = fields.findIndex((f, i) => i % 2 === 0 && f.toString() === 'b');
          if (at >= 0 && fields[at + 1]) out.push(fields[at + 1]!);
        }
        if (page.length < 500) return out;
        start = `(${page[page.length - 1]![0].toString()}`;
      }
    },
  };
}

/**
 * In process, for a gateway without Redis: the same minutes, bounded by `maxBlocks` blocks in
 * all (default 100,000); past it the oldest minutes are dropped first. Retention as in Redis.
 */
export function createMemoryRecordStore(options: RecordRetention & { maxBlocks?: number; now?: () => number } = {}): RecordStore {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const maxBlocks = options.maxBlocks ?? 100_000;
  const now = options.now ?? Date.now;
  const minutes = new Map<number, { blocks: Buffer[]; expiresAt: number }>();
  let total = 0;
  const drop = (minute: number) => {
    total -= minutes.get(minute)?.blocks.length ?? 0;
    minutes.delete(minute);
  };
  return {
    async append(blocks) {
      for (const { minute, block } of blocks) {
        let entry = minutes.get(minute);
        if (!entry) {
          entry = { blocks: [], expiresAt: 0 };
          minutes.set(minute, entry);
        }
        entry.blocks.push(block);
        entry.expiresAt = now() + retentionMs;
        total += 1;
      }
      while (total > maxBlocks) {
        // Minutes are made in time order (a late request's minute already exists): the first is the oldest.
        drop(minutes.keys().next().value!);
      }
    },
    async blocks(minute) {
      const entry = minutes.get(minute);
      if (!entry) return [];
      if (entry.expiresAt <= now()) {
        drop(minute);
        return [];
      }
      return [...entry.blocks];
    },
  };
}
