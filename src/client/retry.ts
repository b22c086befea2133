/** Retry settings of the client kit; every field has a default. */
export interface RetryOptions {
  /** Attempts including the first, default 3. */
  maxAttempts?: number;
  /** Base of the exponential backoff, default 200 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff, default 10 s. */
  maxDelayMs?: number;
  /** A Retry-After longer than this (default 60 s) is not waited for: the answer goes to the app. */
  maxRetryAfterMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

/** What is worth retrying: too many requests, and a service unavailable for now (both say when in Retry-After). */
export const RETRYABLE_STATUS = new Set([429, 503]);

/**
 * The wait before retry number `attempt` (1 for the first retry), with full jitter (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base * 2^attempt)),
 * so clients that failed together do not come back together. A `Retry-After` is honoured: the
 * wait is at least that, with the jitter spread on top. Null: do not retry (Retry-After too long).
 */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | null, options: Required<RetryOptions>, random = Math.random): number | null {
  const jitter = random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  if (retryAfterSeconds === null) return jitter;
  const floor = retryAfterSeconds * 1000;
  if (floor > options.maxRetryAfterMs) return null;
  return floor + jitter;
}
