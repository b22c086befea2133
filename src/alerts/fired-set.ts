/** How often expired entries are swept out (ms). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The in-process record of alerts already fired, keyed by dedupe key, each kept until its
 * window has ended (`expiresAt`). Bounded two ways: expired entries are swept at most once a
 * minute, and past `maxEntries` the oldest entry is evicted (it may then fire again in this
 * process, where the fleet-wide Redis key still stops a duplicate).
 */
export function createFiredSet(options: { maxEntries: number; now: () => number }) {
  const entries = new Map<string, number>();
  let nextSweepAt = 0;

  function sweep(now: number): void {
    for (const [key, expiresAt] of entries) if (expiresAt <= now) entries.delete(key);
    nextSweepAt = now + SWEEP_INTERVAL_MS;
  }

  return {
    /** Records `key` until `expiresAt` (epoch ms); false when it is already recorded and unexpired. */
    add(key: string, expiresAt: number): boolean {
      const now = options.now();
      const existing = entries.get(key);
      if (existing !== undefined && existing > now) return false;
      if (now >= nextSweepAt) sweep(now);
      entries.delete(key);
      if (entries.size >= options.maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, expiresAt);
      return true;
    },
    size: () => entries.size,
  };
}
