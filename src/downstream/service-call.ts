import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import type { DownstreamServiceConfig } from '../config/schema.js';
import { DownstreamError } from '../errors/gateway-error.js';
import type { FairQueue, Slot } from '../fairness/fair-queue.js';
import type { Priority } from '../fairness/priority.js';
import type { Logger } from '../observability/logger.js';
import type { ConcurrencyLimit } from './adaptive-limit.js';
import type { Exchange } from './exchange.js';
import { cancelledError, circuitOpenError, countsAgainstBreaker, overloadedError, timeoutError, type OverloadReason } from './http-errors.js';
import type { RateBudget, RateToken } from './rate-budget.js';
import { backoffDelay, type RetryBudget } from './retry.js';
import type { CallContext, QueueEvent } from './call-context.js';

/** What every call to one service shares: made once per service by `createServiceClient`. */
export interface ServiceParts {
  name: string;
  config: DownstreamServiceConfig;
  now: () => number;
  log: Logger;
  exchange: Exchange;
  breaker: CircuitBreakerPolicy;
  queue: FairQueue;
  concurrencyLimit: ConcurrencyLimit;
  rateBudget: RateBudget;
  retryBudget: RetryBudget;
  onQueue?: (event: QueueEvent) => void;
}

/** One call's request, as `createServiceClient`'s methods pass it on. */
export interface CallRequest {
  method: string;
  path: string;
  body: unknown;
  ctx: CallContext;
  /** Reads: retried on the failures the retry policy names; writes never. */
  idempotent: boolean;
}

/**
 * One call through the service's policies, outermost first: breaker -> a slot of the fair queue
 * within the deadline -> the retry loop -> one HTTP exchange per attempt (service-client.ts says
 * why the retry loop is ours). The total deadline (`timeouts.totalMs`) covers all of it.
 */
export async function runServiceCall<T>(parts: ServiceParts, request: CallRequest): Promise<T> {
  const { path, ctx } = request;
  if (!path.startsWith('/')) throw new Error(`downstream path must start with "/": "${path}"`);
  const weight = ctx.weight ?? 1;
  if (!(weight > 0 && Number.isFinite(weight))) throw new Error(`CallContext.weight must be a positive number: ${weight}`);
  const call = new ServiceCall<T>(parts, request, weight);
  try {
    if (call.signal.aborted) throw call.abortError();
    return await untilAborted(
      parts.breaker.execute(() => call.withSlot()),
      call.signal,
    );
  } catch (err) {
    if (err instanceof DownstreamError) throw err;
    if (err instanceof BrokenCircuitError) throw circuitOpenError(parts.name, parts.config.breaker.halfOpenAfterMs);
    // The signal fired while waiting (our race below, e.g. behind a half-open breaker's trial call).
    if (call.signal.aborted) throw call.abortError(err);
    throw err;
  } finally {
    call.end();
  }
}

/** The state of one call: its deadline, its signal, and whether it is waiting for a slot. */
class ServiceCall<T> {
  readonly signal: AbortSignal;
  private readonly priority: Priority;
  private readonly payload: string | undefined;
  private readonly deadlineAt: number;
  private readonly timer: NodeJS.Timeout;
  /** Set while the call waits for a slot: its deadline passing then means "overloaded", not "slow". */
  private queuedSince: number | undefined;
  /** The error of a deadline that passed in the queue, made once (it is also counted once). */
  private queueTimeout: DownstreamError | undefined;

  constructor(
    private readonly parts: ServiceParts,
    private readonly request: CallRequest,
    private readonly weight: number,
  ) {
    const { timeouts } = parts.config;
    const { ctx, body } = request;
    this.priority = ctx.priority ?? 'normal';
    this.payload = body === undefined ? undefined : JSON.stringify(body);
    this.deadlineAt = parts.now() + timeouts.totalMs;
    const deadline = new AbortController();
    this.timer = setTimeout(() => deadline.abort(), timeouts.totalMs);
    this.signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
  }

  end(): void {
    clearTimeout(this.timer);
  }

  /** Which signal fired decides between "the caller left" and "the service was too slow" (or too busy). */
  abortError(cause?: unknown): DownstreamError {
    const { name, config } = this.parts;
    if (this.request.ctx.signal?.aborted) return cancelledError(name, cause);
    if (this.queueTimeout) return this.queueTimeout;
    if (this.queuedSince !== undefined) {
      this.queueTimeout = this.refused({ reason: 'queue_timeout', waitedMs: this.parts.now() - this.queuedSince, drainMs: config.timeouts.totalMs });
      return this.queueTimeout;
    }
    return timeoutError(name, 'total', config.timeouts.totalMs, cause);
  }

  async withSlot(): Promise<T> {
    const slot = await this.acquire();
    try {
      return await this.attempts();
    } finally {
      slot.release();
    }
  }

  private observe(waitedMs: number, reason: OverloadReason | null): void {
    this.parts.onQueue?.({ service: this.parts.name, priority: this.priority, plan: this.request.ctx.plan ?? 'unknown', waitedMs, reason });
  }

  private refused(refusal: Parameters<typeof overloadedError>[1]): DownstreamError {
    const { name, config, queue } = this.parts;
    this.observe(refusal.waitedMs, refusal.reason);
    return overloadedError(name, refusal, {
      maxQueue: config.concurrency.maxQueue,
      maxQueuePerTenant: config.concurrency.maxQueuePerTenant,
      limit: queue.state().limit,
      rateLimit: config.rateLimit,
    });
  }

  /** A slot of the service, within the deadline; settles synchronously when one is free. */
  private acquire(): Promise<Slot> {
    const { ctx } = this.request;
    return new Promise<Slot>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        settled = true;
        this.queuedSince = undefined;
        this.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        cancel();
        const error = this.abortError();
        settle();
        reject(error);
      };
      this.queuedSince = this.parts.now();
      const cancel = this.parts.queue.request(
        { tenantId: ctx.tenantId, weight: this.weight, priority: this.priority, deadlineAt: this.deadlineAt },
        {
          granted: (slot) => {
            settle();
            this.observe(slot.waitedMs, null);
            if (ctx.waits && slot.waitedMs > ctx.waits.queueMs) ctx.waits.queueMs = slot.waitedMs;
            resolve(slot);
          },
          refused: (refusal) => {
            settle();
            reject(this.refused(refusal));
          },
        },
      );
      if (!settled) this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The retry loop: each attempt takes a rate token, then makes one exchange; reads retry within the deadline and the budget. */
  private async attempts(): Promise<T> {
    const { retryBudget, config } = this.parts;
    retryBudget.deposit();
    let lastError: DownstreamError | undefined;
    for (let attempt = 1; ; attempt++) {
      const token = await this.rateToken();
      // No room for a retry: the failure it would have retried stands.
      if (!token.ok) throw lastError ?? this.refused({ reason: 'rate_budget', waitedMs: token.waitedMs, drainMs: token.retryAfterMs });
      const { ctx } = this.request;
      if (ctx.waits && token.waitedMs > ctx.waits.rateLimitMs) ctx.waits.rateLimitMs = token.waitedMs;
      const outcome = await this.exchange();
      if (outcome.ok) return outcome.value;
      const { error } = outcome;
      lastError = error;
      if (!this.request.idempotent || !outcome.retryable || attempt >= config.retry.maxAttempts) throw error;
      await this.backOff(attempt, error, outcome.retryAfterMs);
    }
  }

  private async rateToken(): Promise<RateToken> {
    try {
      return await this.parts.rateBudget.take(this.deadlineAt, this.signal);
    } catch (err) {
      throw this.abortError(err);
    }
  }

  /** One HTTP exchange; every attempt teaches the concurrency limit, except one the caller walked away from. */
  private async exchange() {
    const { method, path, ctx } = this.request;
    const { now, queue, concurrencyLimit } = this.parts;
    const started = now();
    const outcome = await this.parts.exchange<T>({
      method,
      path,
      payload: this.payload,
      ctx,
      signal: this.signal,
      abortError: (cause) => this.abortError(cause),
    });
    if (outcome.ok || outcome.error.reason !== 'cancelled') {
      const failed = !outcome.ok && countsAgainstBreaker(outcome.error);
      concurrencyLimit.sample({ rttMs: now() - started, failed, inFlight: queue.state().inFlight });
    }
    return outcome;
  }

  /** Waits before the next attempt, or throws `error` when no retry fits: deadline, Retry-After or budget. */
  private async backOff(attempt: number, error: DownstreamError, retryAfterMs: number | undefined): Promise<void> {
    const { config, now, retryBudget, log, name } = this.parts;
    const { ctx, method, path } = this.request;
    const remainingMs = this.deadlineAt - now();
    let delayMs = backoffDelay(attempt - 1, config.retry);
    if (retryAfterMs !== undefined) {
      // A service that asks for a long pause gets it: retrying sooner would only add load.
      if (retryAfterMs > config.retry.maxRetryAfterMs || retryAfterMs >= remainingMs) throw error;
      delayMs = Math.max(delayMs, retryAfterMs);
    }
    if (delayMs >= remainingMs) throw error;
    if (!retryBudget.tryWithdraw()) {
      log.debug({ requestId: ctx.requestId, reason: error.reason }, `${name} retry budget is spent; not retrying`);
      throw error;
    }
    log.debug({ requestId: ctx.requestId, tenantId: ctx.tenantId, attempt, delayMs, reason: error.reason }, `retrying ${name} ${method} ${path}`);
    try {
      await sleep(delayMs, undefined, { signal: this.signal });
    } catch (err) {
      throw this.abortError(err);
    }
  }
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
