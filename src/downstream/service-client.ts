import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  bulkhead,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { Pool } from 'undici';
import type { DownstreamServiceConfig } from '../config/schema.js';
import { DownstreamError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import { type Exchange, createExchange } from './exchange.js';
import {
  cancelledError,
  circuitOpenError,
  countsAgainstBreaker,
  overloadedError,
  timeoutError,
} from './http-errors.js';
import { backoffDelay, createRetryBudget } from './retry.js';

export interface CallContext {
  tenantId: string;
  requestId: string;
  /** The caller's own cancellation (e.g. the GraphQL request went away); aborts retries too. */
  signal?: AbortSignal;
}

export interface ServiceClient {
  readonly name: string;
  /** Idempotent read: retried on network errors, 429, 502, 503, 504. Resolves the parsed JSON body of a 2xx. */
  get<T>(path: string, ctx: CallContext): Promise<T>;
  /** Writes are never retried. */
  send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: CallContext): Promise<T>;
  state(): { breaker: 'closed' | 'open' | 'half-open'; inFlight: number; queued: number; retryTokens: number };
  close(): Promise<void>;
}

const BREAKER_LABEL: Record<CircuitState, ReturnType<ServiceClient['state']>['breaker']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * One downstream REST service behind its resilience policies, outermost first:
 * circuit breaker (an open breaker refuses before anything queues) -> bulkhead (maxInFlight,
 * maxQueue) -> retry loop (reads only) -> one HTTP exchange on a keep-alive undici `Pool`.
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
}): ServiceClient {
  const { name, config } = options;
  const { timeouts, retry, concurrency } = config;
  const log = options.logger.child({ service: name });
  const base = new URL(options.url);
  const pool = new Pool(base.origin, {
    // The bulkhead already bounds concurrency; as many sockets as slots means undici never queues.
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
  const bulk = bulkhead(concurrency.maxInFlight, concurrency.maxQueue);

  async function call<T>(method: string, path: string, body: unknown, ctx: CallContext, idempotent: boolean): Promise<T> {
    if (!path.startsWith('/')) throw new Error(`downstream path must start with "/": "${path}"`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const deadlineAt = Date.now() + timeouts.totalMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeouts.totalMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
    // Which signal fired decides between "the caller left" and "the service was too slow".
    const abortError = (cause?: unknown) =>
      ctx.signal?.aborted ? cancelledError(name, cause) : timeoutError(name, 'total', timeouts.totalMs, cause);

    async function attempts(): Promise<T> {
      budget.deposit();
      for (let attempt = 1; ; attempt++) {
        const outcome = await exchange<T>({ method, path, payload, ctx, signal, abortError });
        if (outcome.ok) return outcome.value;
        const { error } = outcome;
        if (!idempotent || !outcome.retryable || attempt >= retry.maxAttempts) throw error;
        const remainingMs = deadlineAt - Date.now();
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
        log.debug(
          { requestId: ctx.requestId, tenantId: ctx.tenantId, attempt, delayMs, reason: error.reason },
          `retrying ${name} ${method} ${path}`,
        );
        try {
          await sleep(delayMs, undefined, { signal });
        } catch (err) {
          throw abortError(err);
        }
      }
    }

    try {
      if (signal.aborted) throw abortError();
      return await untilAborted(
        breaker.execute(() => bulk.execute(attempts, signal)),
        signal,
      );
    } catch (err) {
      if (err instanceof DownstreamError) throw err;
      if (err instanceof BrokenCircuitError) throw circuitOpenError(name, config.breaker.halfOpenAfterMs);
      if (err instanceof BulkheadRejectedError) throw overloadedError(name, concurrency.maxInFlight, concurrency.maxQueue);
      // cockatiel's TaskCancelledError, or our race below: the signal fired while waiting.
      if (signal.aborted) throw abortError(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name,
    get: <T>(path: string, ctx: CallContext) => call<T>('GET', path, undefined, ctx, true),
    send: <T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: CallContext) =>
      call<T>(method, path, body, ctx, false),
    state: () => ({
      breaker: BREAKER_LABEL[breaker.state],
      inFlight: concurrency.maxInFlight - bulk.executionSlots,
      queued: concurrency.maxQueue - bulk.queueSlots,
      retryTokens: budget.tokens(),
    }),
    close: () => pool.close(),
  };
}

/**
 * Rejects with the signal's reason as soon as it fires, even if `promise` is still pending:
 * cockatiel's bulkhead does not drop a queued call when its signal aborts, so a call waiting
 * for a slot would otherwise outlive its deadline.
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
