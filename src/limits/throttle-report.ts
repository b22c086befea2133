import type { LimitVerdict } from './limit-verdict.js';

/** What `extensions.throttle` of a held request's response holds (graduated throttling). */
export interface ThrottleExtension {
  /** How long the request was held before it ran, ms: the plan's burst zone let it run later instead of refusing it. */
  delayedMs: number;
}

/**
 * Puts `extensions.throttle` on the response of a request held in its plan's burst zone (the
 * `Server-Timing: throttle` entry was set when it was held); nothing for one that ran at once.
 */
export function reportThrottle(verdict: LimitVerdict | undefined, result: { extensions?: Record<string, unknown> }): void {
  const delayedMs = verdict?.delayedMs;
  if (delayedMs === undefined) return;
  const throttle: ThrottleExtension = { delayedMs };
  result.extensions = { ...result.extensions, throttle };
}
