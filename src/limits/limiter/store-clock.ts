/** How long the best store-clock offset measurement is kept (ms). */
const OFFSET_MEMORY_MS = 10_000;

/** The shared store's clock as this instance reads it: local decisions are stamped in store time. */
export interface StoreClock {
  /** Store-clock epoch ms now: the local clock plus the offset kept. */
  now(): number;
  /** A reply of the store stamped `storeNow` (its Redis TIME) arrived. */
  measure(storeNow: number): void;
}

/**
 * Store clock minus local clock. Each reply measures it minus that reply's latency, so the largest
 * measurement of the last 10 s is kept: a reply read late after an event-loop stall would
 * otherwise set the clock behind, and replays of local admissions would then age out early.
 */
export function createStoreClock(): StoreClock {
  let offset = 0;
  let offsetAt = 0;
  return {
    now: () => Date.now() + offset,
    measure(storeNow) {
      const now = Date.now();
      const measured = storeNow - now;
      if (measured > offset || now - offsetAt > OFFSET_MEMORY_MS) {
        offset = measured;
        offsetAt = now;
      }
    },
  };
}
