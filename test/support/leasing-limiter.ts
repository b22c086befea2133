import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import type { LeaseOutcome } from '../../src/limits/limiter/lease-book.js';
import { createLimiter, type Limiter } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis } from '../../src/stores/redis.js';

export interface LeasingLimiter {
  limiter: Limiter;
  /** Lease tokens granted, used and refunded so far (`limit_lease_tokens_total`). */
  tokens: Record<LeaseOutcome, number>;
  /** Tokens the limiter's leases hold now. */
  held(): number;
  close(): Promise<void>;
}

/**
 * A limiter on the redis-server at `url` with the demo config's limits (leases on), counting its
 * lease tokens. Its store timeout (1 s) is long enough that this 2-core machine never looks like a
 * Redis failure: the failures in a test are the ones it makes. Probes every 100 ms: back on Redis
 * soon after it is.
 */
export async function startLeasingLimiter(url: string, overrides: { storeTimeoutMs?: number; storeRecoverySettleMs?: number } = {}): Promise<LeasingLimiter> {
  const logger = createLogger({ level: 'silent' });
  const redis = createRedis(url, logger, { maxReconnectDelayMs: 250 });
  const config = { ...(await loadConfigFile(DEMO_CONFIG_PATH, {})).limits, storeTimeoutMs: 1000, storeBreakerHalfOpenMs: 100, ...overrides };
  const tokens: Record<LeaseOutcome, number> = { granted: 0, used: 0, refunded: 0 };
  const limiter = createLimiter({
    shared: createRedisLimitStore({ redis }),
    link: createRedisLink(redis),
    divisor: () => 1,
    config,
    logger,
    onLeaseTokens: (outcome, n) => {
      tokens[outcome] += n;
    },
  });
  await limiter.start();
  return {
    limiter,
    tokens,
    held: () => tokens.granted - tokens.used - tokens.refunded,
    async close() {
      await limiter.close();
      redis.disconnect();
    },
  };
}
