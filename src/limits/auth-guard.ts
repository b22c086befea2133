import { MINUTE_BUCKETS, type LimitDimension } from './dimensions.js';
import { rateLimitHeaders } from './headers.js';
import type { Limiter } from './limiter.js';

/** Bounds the local block list; an attack from more IPs than this evicts the oldest entries. */
const MAX_BLOCKED_IPS = 10_000;
const WINDOW_MS = 60_000;

/** What a failed authentication answer tells the client: the wait (if blocked) and its headers. */
export interface AuthFailureVerdict {
  /** Seconds until this address may try again; null while it is still under the limit. */
  retryAfterSeconds: number | null;
  /** `RateLimit-Policy`, `RateLimit` and `X-RateLimit-*` for the `auth-failures` policy. */
  headers: Record<string, string>;
}

/**
 * Brute-force protection that never refuses a valid credential. The credential is checked first
 * (a SHA-256 and constant-time comparisons, no I/O): a valid API key, service token or
 * platform-admin key is admitted whatever its address did, so a neighbour behind the same NAT or
 * proxy, or an attacker spoofing nothing but sharing an egress IP, can never lock a client out.
 * Only failed attempts are limited: they are counted per IP in the shared store
 * (`rl:{ip:<ip>}:auth`, so every instance adds to one count), and past
 * `limits.authFailuresPerIpPerMinute` the IP is blocked until its window frees up: its failed
 * attempts then get 429 from a local list, without a store call and with the same answer for
 * every bad token. Another instance learns of the block at that IP's next failure there.
 *
 * The price of zero false positives: during a block a token that happens to be valid still
 * works, so the block slows nothing down for an attacker who guesses right; what it bounds is
 * what the guessing costs the fleet (store calls, log lines). Tokens must therefore be
 * unguessable on their own (the README asks for 32 random bytes).
 */
export function createAuthGuard(options: { limiter: Limiter; perMinute: () => number }) {
  const blockedUntil = new Map<string, number>();

  function dimension(ip: string): LimitDimension {
    return {
      store: {
        kind: 'sliding',
        name: 'auth-failures',
        key: `rl:{ip:${ip}}:auth`,
        limit: options.perMinute(),
        windowMs: WINDOW_MS,
        buckets: MINUTE_BUCKETS,
        amount: 1,
      },
      kind: 'requests',
      policy: 'auth-failures',
      window: '1 minute',
      windowSeconds: WINDOW_MS / 1000,
      countsRequests: true,
    };
  }

  /** The verdict for an IP already blocked here; null when it is not (or no longer) blocked. */
  function blocked(ip: string, now = Date.now()): AuthFailureVerdict | null {
    const until = blockedUntil.get(ip);
    if (until === undefined) return null;
    if (until <= now) {
      blockedUntil.delete(ip);
      return null;
    }
    const seconds = Math.max(1, Math.ceil((until - now) / 1000));
    const limit = options.perMinute();
    const result = { name: 'auth-failures', limit, used: limit, remaining: 0, resetAt: until, retryAfterMs: until - now, allowed: false };
    return { retryAfterSeconds: seconds, headers: rateLimitHeaders([dimension(ip)], [result], now) };
  }

  /** Counts one failed authentication; says how long to wait if that was one too many. */
  async function recordFailure(ip: string): Promise<AuthFailureVerdict> {
    const already = blocked(ip);
    if (already) return already;
    const dim = dimension(ip);
    const { decision } = await options.limiter.consume([dim.store], 'open');
    const result = decision.results[0];
    const headers = result ? rateLimitHeaders([dim], [result], decision.now) : {};
    if (decision.allowed) return { retryAfterSeconds: null, headers };
    const wait = result?.retryAfterMs ?? WINDOW_MS;
    if (blockedUntil.size >= MAX_BLOCKED_IPS) blockedUntil.delete(blockedUntil.keys().next().value!);
    blockedUntil.set(ip, Date.now() + wait);
    return { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)), headers };
  }

  return { recordFailure };
}

export type AuthGuard = ReturnType<typeof createAuthGuard>;
