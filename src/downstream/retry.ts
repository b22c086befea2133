/**
 * The arithmetic of retrying a downstream read: backoff delays, `Retry-After` parsing and the
 * per-service retry budget. No I/O here, so it can be tested with a fake clock.
 */

/**
 * Full-jitter exponential backoff (the AWS Architecture Blog's "full jitter"):
 * `random(0, min(maxDelayMs, baseDelayMs * 2^retry))`, where `retry` is 0 for the first retry.
 * Full jitter spreads the retries of many callers that failed at the same moment.
 */
export function backoffDelay(retry: number, options: { baseDelayMs: number; maxDelayMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * Milliseconds to wait from a `Retry-After` header (RFC 9110 §10.2.3): either delay-seconds or
 * an HTTP date. Returns `undefined` when the header is absent or unreadable, 0 for a date in the
 * past.
 */
export function parseRetryAfter(header: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date always names a day or month; without letters, `Date.parse('-1')` would be a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryBudgetOptions {
  /** Tokens one first attempt deposits, i.e. retries allowed as a share of calls (config default 0.1). */
  ratio: number;
  /** Retries always allowed per second, whatever the bucket holds (config default 5). */
  minPerSecond: number;
  /** Most tokens the bucket holds, so a long healthy spell cannot pay for a retry storm; default 10. */
  maxTokens?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/**
 * A retry budget in the style of Finagle's `RetryBudget`: each call deposits `ratio` tokens,
 * each retry withdraws one. When the bucket is empty only `minPerSecond` retries per second are
 * allowed, so that a sick service sees at most about `1 + ratio` times its normal load instead of
 * `maxAttempts` times.
 */
export function createRetryBudget(options: RetryBudgetOptions) {
  const maxTokens = options.maxTokens ?? 10;
  const now = options.now ?? Date.now;
  let tokens = 0;
  // The reserve of `minPerSecond` retries, refilled at the start of each one-second window.
  let windowStart = -Infinity;
  let reserveUsed = 0;

  return {
    /** Call once per logical call (its first attempt). */
    deposit(): void {
      tokens = Math.min(maxTokens, tokens + options.ratio);
    },
    /** Asks for one retry; `false` means the budget is spent and the call must fail instead. */
    tryWithdraw(): boolean {
      // The epsilon absorbs float drift: ten deposits of 0.1 add up to 0.9999999999999999.
      if (tokens >= 1 - 1e-9) {
        tokens = Math.max(0, tokens - 1);
        return true;
      }
      const t = now();
      if (t - windowStart >= 1000) {
        windowStart = t;
        reserveUsed = 0;
      }
      if (reserveUsed < options.minPerSecond) {
        reserveUsed += 1;
        return true;
      }
      return false;
    },
    /** Tokens in the bucket (not counting the per-second reserve). */
    tokens(): number {
      return Math.round(tokens * 100) / 100;
    },
  };
}
export type RetryBudget = ReturnType<typeof createRetryBudget>;
