import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Pool } from 'undici';
import type { DownstreamServiceConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createAdaptiveLimit, createFixedLimit } from './adaptive-limit.js';
import { type Exchange, createExchange } from './exchange.js';
import { type QueueState, createFairQueue } from '../fairness/fair-queue.js';
import { countsAgainstBreaker } from './http-errors.js';
import { type RateBudget, UNLIMITED_RATE } from './rate-budget.js';
import { createRetryBudget } from './retry.js';
import type { CallContext, QueueEvent } from './call-context.js';
import { runServiceCall, type ServiceParts } from './service-call.js';

/** Breaker, queue (`limit`: adaptive between `minInFlight` and `maxInFlight`, or `maxInFlight`) and retry budget. */
export type ServiceState = QueueState & {
  breaker: 'closed' | 'open' | 'half-open';
  retryTokens: number;
};

export interface ServiceClient {
  readonly name: string;
  /** Idempotent read: retried on network errors, 429, 502, 503, 504. Resolves the parsed JSON body of a 2xx. */
  get<T>(path: string, ctx: CallContext): Promise<T>;
  /** Writes are never retried. */
  send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: CallContext): Promise<T>;
  state(): ServiceState;
  close(): Promise<void>;
}

const BREAKER_LABEL: Record<CircuitState, ServiceState['breaker']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * One downstream REST service behind its resilience policies, outermost first:
 * circuit breaker (an open breaker refuses before anything queues) -> weighted fair queue for a
 * slot (fair-queue.ts: per tenant and priority class, bounded, each wait within the call's
 * deadline) under an adaptive concurrency limit (adaptive-limit.ts, fed by every attempt) ->
 * retry loop (reads only) -> one HTTP exchange on a keep-alive undici `Pool`.
 * The total deadline (`timeouts.totalMs`) covers all of it, queueing and backoff waits included.
 *
 * The retry loop is our own, not cockatiel's `retry()`: a retry here must honour the response's
 * `Retry-After` (and fail at once when it is too long), stop when the total deadline has no room
 * for the wait, and ask a budget shared by all calls to the service. cockatiel's backoff sees the
 * failure but cannot refuse a retry, so those rules would end up spread over filters and hooks.
 */
export function createServiceClient(options: {
  name: string;
  url: string;
  config: DownstreamServiceConfig;
  logger: Logger;
  /** Told when each call gets its slot or is refused one. Must not throw. */
  onQueue?: (event: QueueEvent) => void;
  /** The service's rate budget (`rateLimit`), taken once per attempt; default none. Its clock must be `now`. */
  rateBudget?: RateBudget;
  /** Clock in ms for deadlines, the queue and the limit; default `performance.now`. */
  now?: () => number;
  /** This process's event-loop delay now, ms, for the adaptive limit (loop-lag.ts); default 0. */
  loopLagMs?: () => number;
}): ServiceClient {
  const { name, config } = options;
  const { timeouts, retry, concurrency } = config;
  const now = options.now ?? (() => performance.now());
  const rateBudget = options.rateBudget ?? UNLIMITED_RATE;
  const log = options.logger.child({ service: name });
  const base = new URL(options.url);
  const pool = new Pool(base.origin, {
    // The queue already bounds concurrency; as many sockets as slots means undici never queues.
    connections: concurrency.maxInFlight,
    connectTimeout: timeouts.connectMs,
    headersTimeout: timeouts.firstByteMs,
    // Only a backstop: the total deadline's AbortSignal stops a slow body first.
    bodyTimeout: timeouts.totalMs,
  });
  const exchange: Exchange = createExchange({ name, pool, origin: base.origin, basePath: base.pathname.replace(/\/+$/, ''), timeouts });
  const budget = createRetryBudget({ ratio: retry.budgetRatio, minPerSecond: retry.minRetriesPerSecond });
  const breaker = circuitBreaker(handleWhen(countsAgainstBreaker), {
    halfOpenAfter: config.breaker.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(config.breaker.consecutiveFailures),
  });
  breaker.onStateChange((state) => {
    const level = state === CircuitState.Closed ? 'info' : 'warn';
    log[level]({ breaker: BREAKER_LABEL[state] }, `${name} circuit breaker is ${BREAKER_LABEL[state]}`);
  });
  const concurrencyLimit = concurrency.adaptive
    ? createAdaptiveLimit({ min: concurrency.minInFlight, max: concurrency.maxInFlight, now, ...(options.loopLagMs ? { lagMs: options.loopLagMs } : {}) })
    : createFixedLimit(concurrency.maxInFlight);
  const queue = createFairQueue({
    limit: () => concurrencyLimit.limit(),
    maxQueue: concurrency.maxQueue,
    maxQueuePerTenant: concurrency.maxQueuePerTenant,
    criticalReservePercent: concurrency.criticalReservePercent,
    agePerClassMs: concurrency.agePerClassMs,
    now,
  });

  const parts: ServiceParts = {
    name,
    config,
    now,
    log,
    exchange,
    breaker,
    queue,
    concurrencyLimit,
    rateBudget,
    retryBudget: budget,
    ...(options.onQueue ? { onQueue: options.onQueue } : {}),
  };
  const call = <T>(method: string, path: string, body: unknown, ctx: CallContext, idempotent: boolean) =>
    runServiceCall<T>(parts, { method, path, body, ctx, idempotent });

  return {
    name,
    get: <T>(path: string, ctx: CallContext) => call<T>('GET', path, undefined, ctx, true),
    send: <T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: CallContext) => call<T>(method, path, body, ctx, false),
    state: () => ({ breaker: BREAKER_LABEL[breaker.state], ...queue.state(), retryTokens: budget.tokens() }),
    close: () => pool.close(),
  };
}
