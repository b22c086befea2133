import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Adjustment, Dimension, LimitDecision, LimitStore } from './store/types.js';

/** Where a decision came from; `local` means the shared store was unreachable. */
export type DecisionSource = 'shared' | 'local' | 'unavailable';

export interface LimiterOutcome {
  decision: LimitDecision;
  source: DecisionSource;
}

/**
 * Checks dimensions against the shared store (Redis) behind a short timeout and a circuit
 * breaker. When the store fails: fail-open plans are checked against an in-process store that
 * enforces this instance's share of each limit (limit / live instances, at least 1), fail-closed
 * plans are refused (`source: 'unavailable'`). Without a shared store (one process) the local
 * store is the truth and enforces the full limits.
 */
export function createLimiter(options: {
  shared: LimitStore | null;
  local: LimitStore;
  liveInstances: () => number;
  config: Config['limits'];
  logger: Logger;
}) {
  const { shared, local, logger } = options;
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: options.config.storeBreakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(options.config.storeBreakerFailures),
  });
  breaker.onStateChange((state) => logger.warn({ state }, 'limit store circuit breaker changed state'));
  // The timeout is the store connection's own command timeout (`storeTimeoutMs`, set where the
  // connection is made): a cockatiel timeout policy would add an AbortController and a timer to
  // every check on the hot path.
  const policy = breaker;

  function localShare(dimensions: readonly Dimension[]): Dimension[] {
    const instances = Math.max(1, options.liveInstances());
    return dimensions.map((d) => ({ ...d, limit: Math.max(1, Math.floor(d.limit / instances)) }));
  }

  async function consume(dimensions: readonly Dimension[], onStoreFailure: 'open' | 'closed'): Promise<LimiterOutcome> {
    if (!shared) return { decision: await local.consume(dimensions), source: 'local' };
    try {
      return { decision: await policy.execute(() => shared.consume(dimensions)), source: 'shared' };
    } catch (err) {
      if (!(err instanceof BrokenCircuitError)) {
        logger.warn({ err: (err as Error).message }, 'limit store call failed; using the local fallback');
      }
      if (onStoreFailure === 'closed') {
        return { decision: { allowed: false, now: Date.now(), results: [] }, source: 'unavailable' };
      }
      return { decision: await local.consume(localShare(dimensions)), source: 'local' };
    }
  }

  /**
   * Current usage without consuming (the `usage` query): from the shared store, or when it fails
   * from the local one, whose counts then cover only this instance.
   */
  async function peek(dimensions: readonly Dimension[]): Promise<LimiterOutcome> {
    if (!shared) return { decision: await local.peek(dimensions), source: 'local' };
    try {
      return { decision: await policy.execute(() => shared.peek(dimensions)), source: 'shared' };
    } catch {
      return { decision: await local.peek(localShare(dimensions)), source: 'local' };
    }
  }

  /** Refunds and late additions, sent where the charge was made. Best effort, off the response path. */
  async function adjust(adjustments: readonly Adjustment[], source: DecisionSource): Promise<void> {
    if (adjustments.length === 0 || source === 'unavailable') return;
    try {
      if (source === 'shared' && shared) await policy.execute(() => shared.adjust(adjustments));
      else await local.adjust(adjustments);
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not apply a limit adjustment');
    }
  }

  return { consume, peek, adjust, breakerState: () => breaker.state };
}

export type Limiter = ReturnType<typeof createLimiter>;
