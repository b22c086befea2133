/**
 * How many requests one instance runs at once: `max` while its event loop keeps up, less while
 * it lags. Every `windowMs` the loop's recent delay is read: above the target the limit shrinks
 * by a fifth (at most to `min`), below half the target it grows by a tenth (at least one) back
 * towards `max`. AIMD on the loop's own delay: a request that waits for a slot costs nothing,
 * one that runs while the loop is late makes every other request later.
 */
export interface LoopLimit {
  limit(): number;
  stop(): void;
}

export function createLoopLimit(options: {
  min: number;
  max: number;
  targetDelayMs: number;
  /** The loop's delay now, ms (fairness/loop-lag.ts). */
  delayMs: () => number;
  /** How often the limit moves, default 100 ms. */
  windowMs?: number;
}): LoopLimit {
  const min = Math.min(options.min, options.max);
  let limit = options.max;
  const step = () => {
    const delay = options.delayMs();
    if (delay > options.targetDelayMs) limit = Math.max(min, Math.floor(limit * 0.8));
    else if (delay < options.targetDelayMs / 2) limit = Math.min(options.max, limit + Math.max(1, Math.floor(limit * 0.1)));
  };
  const timer = setInterval(step, options.windowMs ?? 100);
  timer.unref();
  return {
    limit: () => limit,
    stop: () => clearInterval(timer),
  };
}
