import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll } from 'cockatiel';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { withReplyTimeout } from '../stores/reply-timeout.js';
import type { CacheStore } from './cache-store.js';

export interface GuardedStore {
  /** Raw values in key order (undefined: absent). Rejects when the store failed, was slow, or the breaker is open. */
  getMany(keys: readonly string[]): Promise<unknown[]>;
  /** Rejects like getMany; nothing is retried. */
  setMany(entries: readonly { key: string; value: unknown; ttlMs: number }[]): Promise<void>;
}

/**
 * Every cache call behind a circuit breaker around a short timeout (`cache.timeoutMs`, default
 * 50 ms: the call is abandoned, not cancelled; a late reply is ignored). After
 * `cache.breakerFailures` failures in a row the breaker opens and calls fail at once, without
 * touching Redis, for `cache.breakerHalfOpenMs`; then the next call is the trial that decides.
 * Callers turn every rejection into a miss (reads) or a skipped write: a slow or absent Redis
 * costs speed, never a failed request. The timeout is per batch (one MGET per execution tick),
 * not per field.
 */
export function createGuardedStore(options: { store: CacheStore; config: Config['cache']; logger: Logger }): GuardedStore {
  const { store, config, logger } = options;
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: config.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(config.breakerFailures),
  });
  breaker.onStateChange((state) => logger.warn({ state: CircuitState[state], store: store.kind }, 'cache circuit breaker changed state'));
  // A timer per call, not cockatiel's timeout policy: that one also derives an AbortController from
  // the breaker's shared signal per call, which adds a listener to it for every call in flight.
  // The limits' reply timeout: a reply already in the socket wins however busy the loop is.
  const guarded = <T>(call: () => Promise<T>) => breaker.execute(() => withReplyTimeout(call(), config.timeoutMs));

  return {
    getMany: (keys) => guarded(() => store.keyv.getMany([...keys])),
    async setMany(entries) {
      await guarded(() => store.keyv.setMany(entries.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs }))));
    },
  };
}
