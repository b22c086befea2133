import { hashTag } from '../hash-tag.js';

/**
 * Every store call numbers itself in its hash tag (a tenant): limiter.lua INCRs a counter key in
 * the tag's slot as its first write, and the reply says the number (`LimitDecision.seq`,
 * `StoreStamp.seq`). Calls of one tag then have a total order even within one millisecond of the
 * store clock, which the request record keeps so that a replay applies settles, lease grants and
 * decisions in the order the store ran them (src/replay/REPLAY.md). The memory store mirrors it.
 */

/**
 * How long a tag's counter outlives its last call, ms (1 minute). It then starts again from 1:
 * the record orders calls by store time first and by number only within a millisecond, and a
 * lease is known by its number only for its own life (a few seconds), so a counter needs to live
 * no longer than that, and a short life keeps one key per tag (per address, for the auth guard's
 * keys) from piling up. Lua: `SEQUENCE_TTL_MS`.
 */
export const SEQUENCE_TTL_MS = 60_000;

/**
 * The counter key of the call whose first key is `key`: `rl:{<tag>}:seq`, in the same Cluster slot
 * as every key of the call (they share the tag; a key without one is its own tag, and the slot of
 * `rl:{<key>}:seq` is then the slot of `<key>`). The script takes it as its last KEY (Lua: `key_count`
 * counts the others).
 */
export function sequenceKeyOf(key: string): string {
  return `rl:{${hashTag(key)}}:seq`;
}

/**
 * The memory store's counters, per tag, the least recently used dropped past `maxTags`. Unlike
 * Redis's they do not expire after a minute idle: the memory store's clock may be a test's or a
 * replay's, and a number is only ever compared with its neighbours. Lua: `seq` (its INCR).
 */
export function createCallSequence(maxTags: number) {
  const counters = new Map<string, number>();
  return {
    /** The next number of the call whose first key is `key`. */
    next(key: string): number {
      const tag = hashTag(key);
      const seq = (counters.get(tag) ?? 0) + 1;
      counters.delete(tag);
      counters.set(tag, seq);
      if (counters.size > maxTags) counters.delete(counters.keys().next().value!);
      return seq;
    },
  };
}
