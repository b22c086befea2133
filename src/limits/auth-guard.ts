import type { Limiter } from './limiter.js';
import type { Dimension } from './store/types.js';

/** Bounds the local block list; an attack from more IPs than this evicts the oldest entries. */
const MAX_BLOCKED_IPS = 10_000;

/**
 * Brute-force protection: requests that end in 401 (no key, bad key) are counted per IP in the
 * shared store (`rl:{ip:<ip>}:auth`, so every instance adds to one count); past the limit the IP
 * is blocked until its window frees up. The block is checked before the key lookup from a local
 * list, so a blocked IP costs no store call and learns nothing about keys; another instance
 * learns of the block at that IP's next failure there. Successful authentications cost nothing.
 */
export function createAuthGuard(options: { limiter: Limiter; perMinute: () => number }) {
  const blockedUntil = new Map<string, number>();

  function retryAfterSeconds(ip: string, now = Date.now()): number | null {
    const until = blockedUntil.get(ip);
    if (until === undefined) return null;
    if (until <= now) {
      blockedUntil.delete(ip);
      return null;
    }
    return Math.max(1, Math.ceil((until - now) / 1000));
  }

  /** Counts one failed authentication; returns the seconds to wait if that was one too many. */
  async function recordFailure(ip: string): Promise<number | null> {
    const dimension: Dimension = { kind: 'sliding', name: 'auth-failures', key: `rl:{ip:${ip}}:auth`, limit: options.perMinute(), windowMs: 60_000, buckets: 20, amount: 1 };
    const { decision } = await options.limiter.consume([dimension], 'open');
    if (decision.allowed) return null;
    const wait = decision.results[0]?.retryAfterMs ?? 60_000;
    if (blockedUntil.size >= MAX_BLOCKED_IPS) blockedUntil.delete(blockedUntil.keys().next().value!);
    blockedUntil.set(ip, Date.now() + wait);
    return Math.max(1, Math.ceil(wait / 1000));
  }

  return { retryAfterSeconds, recordFailure };
}

export type AuthGuard = ReturnType<typeof createAuthGuard>;
