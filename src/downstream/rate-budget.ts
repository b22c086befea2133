import { setTimeout as sleep } from 'node:timers/promises';
import type { LimiterOutcome } from '../limits/limiter.js';
import type { Dimension } from '../limits/store/types.js';

/**
 * A downstream service's own rate limit, kept by the gateway fleet so that it never causes the
 * service's 429s: `rateLimit: { calls, perMs }` in the service's config, one sliding window
 * shared by every instance through the limiter (Redis when configured; while Redis is away, the
 * limiter's local fallback gives each instance its share). Each attempt, retries included,
 * takes one call from it. A call that finds no room waits, holding the slot the fair queue gave
 * it (so the queue's order is the order calls go), until the window has room or its deadline
 * would pass; then it is refused.
 */

/** What the budget needs of the limiter: its public `consume` (src/limits/limiter.ts). */
export interface RateLimiter {
  consume(dims: readonly Dimension[], onStoreFailure: 'open' | 'closed'): Promise<LimiterOutcome>;
}

export type RateToken = { ok: true; waitedMs: number } | { ok: false; waitedMs: number; retryAfterMs: number };

export interface RateBudget {
  /**
   * One call from the budget, waiting for room while the wait ends before `deadlineAt` (on
   * `now`'s clock). Rejects with the signal's reason if it aborts while waiting.
   */
  take(deadlineAt: number, signal: AbortSignal): Promise<RateToken>;
}

/** No `rateLimit` configured: every call goes at once, without asking anyone. */
export const UNLIMITED_RATE: RateBudget = { take: async () => ({ ok: true, waitedMs: 0 }) };

/** Sub-buckets of the window: 100 ms each for a 1 s window, at most 30 (2 s each of a minute, as plan limits use). */
export function bucketsFor(perMs: number): number {
  return Math.min(30, Math.max(1, Math.round(perMs / 100)));
}

export function createRateBudget(options: {
  service: string;
  calls: number;
  perMs: number;
  limiter: RateLimiter;
  /** Clock in ms (the service client's). */
  now: () => number;
  /** For the jitter added to each wait; default Math.random. */
  random?: () => number;
}): RateBudget {
  const { calls, perMs, limiter, now } = options;
  const random = options.random ?? Math.random;
  const buckets = bucketsFor(perMs);
  const dimension: Dimension = {
    kind: 'sliding',
    name: `downstream.${options.service}.rateLimit`,
    // One hash tag per service: the key is all the check touches (Redis Cluster).
    key: `rl:{ds:${options.service}}:calls:${perMs}`,
    limit: calls,
    windowMs: perMs,
    buckets,
    amount: 1,
  };
  // Callers that wake together would all ask again at once: each waits up to one sub-bucket more.
  const jitterMs = () => random() * (perMs / buckets);

  return {
    async take(deadlineAt, signal) {
      const started = now();
      for (;;) {
        // 'open': while the limit store is unreachable, this instance's share decides (never no calls at all).
        const { decision } = await limiter.consume([dimension], 'open');
        if (decision.allowed) return { ok: true, waitedMs: now() - started };
        const retryAfterMs = Math.max(1, decision.results[0]?.retryAfterMs ?? perMs / calls) + jitterMs();
        if (now() + retryAfterMs >= deadlineAt) return { ok: false, waitedMs: now() - started, retryAfterMs };
        await sleep(retryAfterMs, undefined, { signal });
      }
    },
  };
}
