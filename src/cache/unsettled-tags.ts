import type { Logger } from '../observability/logger.js';

/** First retry of a failed invalidation after 100 ms, doubling up to every 2 s, until it lands. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** Most tags one retry writes (one SET batch); the rest follow in the next. */
const RETRY_BATCH = 500;

/**
 * Tags whose invalidation did not land: the store failed, timed out or the breaker was open when
 * a mutation replaced their tokens, so entries under the old token may still be in the store and
 * match. Until a new token for the tag is known to have been written, this instance serves no
 * entry of the tag (fail strict: a miss, resolved downstream and not stored), and it writes new
 * tokens again in the background until one write succeeds. Keyed by the tag's store key, which
 * carries the tenant.
 *
 * A tag is settled only by a write issued after its last failure: a retry or a later mutation's
 * invalidation that started before another invalidation of the same tag failed proves nothing
 * about that one.
 */
export function createUnsettledTags(deps: {
  /** Writes a new token for each tag key; rejects when the store failed. */
  write(tagKeys: readonly string[]): Promise<void>;
  logger: Logger;
}) {
  const { write, logger } = deps;
  /** Tag key -> rank of its latest failed invalidation. */
  const failedAt = new Map<string, number>();
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let delay = RETRY_MIN_MS;

  function settled(tagKeys: readonly string[], since: number): void {
    for (const key of tagKeys) if ((failedAt.get(key) ?? Infinity) <= since) failedAt.delete(key);
    if (failedAt.size === 0 && timer) {
      clearTimeout(timer);
      timer = null;
      delay = RETRY_MIN_MS;
    }
  }

  function schedule(): void {
    if (timer || failedAt.size === 0) return;
    timer = setTimeout(retry, delay);
    // Nothing to keep the process alive for: a restarted process has no entries in memory, and a
    // shared store's entries are covered by the other instances' TTLs (see the README).
    timer.unref();
  }

  async function retry(): Promise<void> {
    const since = failures;
    const keys = [...failedAt.keys()].slice(0, RETRY_BATCH);
    try {
      await write(keys);
      settled(keys, since);
      logger.info({ tags: keys.length, unsettled: failedAt.size }, 'cache invalidation retried and landed');
      delay = RETRY_MIN_MS;
    } catch (err) {
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      logger.debug({ err: (err as Error).message, unsettled: failedAt.size, retryInMs: delay }, 'cache invalidation retry failed');
    }
    timer = null;
    schedule();
  }

  return {
    /** True while an invalidation of `tagKey` has not landed: its entries must not be served. */
    has: (tagKey: string): boolean => failedAt.has(tagKey),
    /** Taken before writing tokens: pass it to `settled` once the write succeeded. */
    mark: (): number => failures,
    /** The tokens of `tagKeys` were written by a write issued after `mark()` returned `since`. */
    settled,
    /** The invalidation of `tagKeys` failed: block their entries and retry until a write lands. */
    failed(tagKeys: readonly string[]): void {
      for (const key of tagKeys) failedAt.set(key, ++failures);
      schedule();
    },
    /** Tags still blocked, for tests and logs. */
    size: (): number => failedAt.size,
  };
}

export type UnsettledTags = ReturnType<typeof createUnsettledTags>;
