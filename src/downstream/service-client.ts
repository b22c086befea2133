import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Pool } from 'undici';
import type { DownstreamServiceConfig } from '../config/schema.js';
import { DownstreamError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import { createAdaptiveLimit, createFixedLimit } from './adaptive-limit.js';
import { type Exchange, createExchange } from './exchange.js';
import { type QueueState, type Slot, createFairQueue } from '../fairness/fair-queue.js';
import { cancelledError, circuitOpenError, countsAgainstBreaker, overloadedError, timeoutError, type OverloadReason } from './http-errors.js';
import type { Priority } from '../fairness/priority.js';
import { type RateBudget, type RateToken, UNLIMITED_RATE } from './rate-budget.js';
import { backoffDelay, createRetryBudget } from './retry.js';
import type { DownstreamWaits } from './waits.js';

export interface CallContext {
  tenantId: string;
  requestId: string;
  /** The caller's own cancellation (e.g. the GraphQL request went away); aborts retries too. */
  signal?: AbortSignal;
  /**
   * The caller's share of each service's slots against other tenants waiting for them, a
   * positive number (from its plan: e.g. 4 for Enterprise, 1 for Free). Default 1.
   */
  weight?: number;
  /**
   * The call's priority class: `critical` may use the slots reserved for it
   * (`concurrency.criticalReservePercent`) and is served first, `batch` last (queued calls age,
   * so none starves). Default `normal`.
   */
  priority?: Priority;
  /** The caller's plan id, only as a label of the queue metrics; default none (`unknown`). */
  plan?: string;
  /** The request's record of how long its calls waited (waits.ts); absent: not recorded. */
  waits?: DownstreamWaits;
}

/** One call's passage through a service's queue, for metrics; `reason` when it got no slot. */
export interface QueueEvent {
  service: string;
  priority: Priority;
  plan: string;
  waitedMs: number;
  reason: OverloadReason | null;
}

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
  const exchange: Exchange = createExchange({ name, pool, basePath: base.pathname.replace(/\/+$/, ''), timeouts });
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

  async function call<T>(method: string, path: string, body: unknown, ctx: CallContext, idempotent: boolean): Promise<T> {
    if (!path.startsWith('/')) throw new Error(`downstream path must start with "/": "${path}"`);
    const weight = ctx.weight ?? 1;
    if (!(weight > 0 && Number.isFinite(weight))) throw new Error(`CallContext.weight must be a positive number: ${weight}`);
    const priority = ctx.priority ?? 'normal';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const deadlineAt = now() + timeouts.totalMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeouts.totalMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
    /** Set while the call waits for a slot: its deadline passing then means "overloaded", not "slow". */
    let queuedSince: number | undefined;
    /** The error of a deadline that passed in the queue, made once (it is also counted once). */
    let queueTimeout: DownstreamError | undefined;
    // Which signal fired decides between "the caller left" and "the service was too slow" (or too busy).
    const abortError = (cause?: unknown): DownstreamError => {
      if (ctx.signal?.aborted) return cancelledError(name, cause);
      if (queueTimeout) return queueTimeout;
      if (queuedSince !== undefined) {
        queueTimeout = refused({ reason: 'queue_timeout', waitedMs: now() - queuedSince, drainMs: timeouts.totalMs });
        return queueTimeout;
      }
      return timeoutError(name, 'total', timeouts.totalMs, cause);
    };
    const observe = (waitedMs: number, reason: OverloadReason | null) =>
      options.onQueue?.({ service: name, priority, plan: ctx.plan ?? 'unknown', waitedMs, reason });
    const refused = (refusal: Parameters<typeof overloadedError>[1]) => {
      observe(refusal.waitedMs, refusal.reason);
      return overloadedError(name, refusal, {
        maxQueue: concurrency.maxQueue,
        maxQueuePerTenant: concurrency.maxQueuePerTenant,
        limit: queue.state().limit,
        rateLimit: config.rateLimit,
      });
    };

    /** A slot of the service, within the deadline; settles synchronously when one is free. */
    function acquire(): Promise<Slot> {
      return new Promise<Slot>((resolve, reject) => {
        let settled = false;
        const settle = () => {
          settled = true;
          queuedSince = undefined;
          signal.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          cancel();
          const error = abortError();
          settle();
          reject(error);
        };
        queuedSince = now();
        const cancel = queue.request(
          { tenantId: ctx.tenantId, weight, priority, deadlineAt },
          {
            granted(slot) {
              settle();
              observe(slot.waitedMs, null);
              if (ctx.waits && slot.waitedMs > ctx.waits.queueMs) ctx.waits.queueMs = slot.waitedMs;
              resolve(slot);
            },
            refused(refusal) {
              settle();
              reject(refused(refusal));
            },
          },
        );
        if (!settled) signal.addEventListener('abort', onAbort, { once: true });
      });
    }

    async function attempts(): Promise<T> {
      budget.deposit();
      let lastError: DownstreamError | undefined;
      for (let attempt = 1; ; attempt++) {
        let token: RateToken;
        try {
          token = await rateBudget.take(deadlineAt, signal);
        } catch (err) {
          throw abortError(err);
        }
        // No room for a retry: the failure it would have retried stands.
        if (!token.ok) throw lastError ?? refused({ reason: 'rate_budget', waitedMs: token.waitedMs, drainMs: token.retryAfterMs });
        if (ctx.waits && token.waitedMs > ctx.waits.rateLimitMs) ctx.waits.rateLimitMs = token.waitedMs;
        const started = now();
        const outcome = await exchange<T>({ method, path, payload, ctx, signal, abortError });
        // Every attempt teaches the limit, except one the caller walked away from.
        if (outcome.ok || outcome.error.reason !== 'cancelled') {
          const failed = !outcome.ok && countsAgainstBreaker(outcome.error);
          concurrencyLimit.sample({ rttMs: now() - started, failed, inFlight: queue.state().inFlight });
        }
        if (outcome.ok) return outcome.value;
        const { error } = outcome;
        lastError = error;
        if (!idempotent || !outcome.retryable || attempt >= retry.maxAttempts) throw error;
        const remainingMs = deadlineAt - now();
        let delayMs = backoffDelay(attempt - 1, retry);
        if (outcome.retryAfterMs !== undefined) {
          // A service that asks for a long pause gets it: retrying sooner would only add load.
          if (outcome.retryAfterMs > retry.maxRetryAfterMs || outcome.retryAfterMs >= remainingMs) throw error;
          delayMs = Math.max(delayMs, outcome.retryAfterMs);
        }
        if (delayMs >= remainingMs) throw error;
        if (!budget.tryWithdraw()) {
          log.debug({ requestId: ctx.requestId, reason: error.reason }, `${name} retry budget is spent; not retrying`);
          throw error;
        }
        log.debug({ requestId: ctx.requestId, tenantId: ctx.tenantId, attempt, delayMs, reason: error.reason }, `retrying ${name} ${method} ${path}`);
        try {
          await sleep(delayMs, undefined, { signal });
        } catch (err) {
          throw abortError(err);
        }
      }
    }

    async function withSlot(): Promise<T> {
      const slot = await acquire();
      try {
        return await attempts();
      } finally {
        slot.release();
      }
    }

    try {
      if (signal.aborted) throw abortError();
      return await untilAborted(breaker.execute(withSlot), signal);
    } catch (err) {
      if (err instanceof DownstreamError) throw err;
      if (err instanceof BrokenCircuitError) throw circuitOpenError(name, config.breaker.halfOpenAfterMs);
      // The signal fired while waiting (our race below, e.g. behind a half-open breaker's trial call).
      if (signal.aborted) throw abortError(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name,
    get: <T>(path: string, ctx: CallContext) => call<T>('GET', path, undefined, ctx, true),
    send: <T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: CallContext) => call<T>(method, path, body, ctx, false),
    state: () => ({ breaker: BREAKER_LABEL[breaker.state], ...queue.state(), retryTokens: budget.tokens() }),
    close: () => pool.close(),
  };
}

/**
 * Rejects with the signal's reason as soon as it fires, even if `promise` is still pending:
 * a call waiting behind a half-open breaker's trial call would otherwise outlive its deadline.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
