import type { RedisClient } from '../stores/redis.js';
import { checkRedis } from '../stores/readiness.js';
import type { Downstream } from '../downstream/downstream.js';
import type { Limiter } from '../limits/limiter.js';
import type { AdmissionView, HealthView } from '../graph/context.js';

/** Longest the Redis ping may take before the console calls it down, ms. */
const PING_TIMEOUT_MS = 500;

/** For the platform console: Redis reachability, the limit store's breaker, each downstream breaker. */
export function createHealthView(deps: {
  redis: RedisClient | null;
  limiter: Limiter;
  downstream: Downstream;
  /** This instance's admission now; null when admission is off. */
  admission: () => AdmissionView | null;
}): () => Promise<HealthView> {
  return async () => {
    let redis = 'not configured';
    if (deps.redis) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          checkRedis(deps.redis),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS))),
        ]);
        redis = 'ok';
      } catch (err) {
        redis = `down: ${(err as Error).message}`;
      } finally {
        clearTimeout(timer);
      }
    }
    return {
      redis,
      limitStore: deps.redis ? deps.limiter.storeState() : 'local',
      downstream: Object.entries(deps.downstream.states()).map(([service, s]) => ({
        service,
        breaker: s.breaker,
        inFlight: s.inFlight,
        queued: s.queued,
        limit: s.limit,
      })),
      admission: deps.admission(),
    };
  };
}
