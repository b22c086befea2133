import { DownstreamError } from '../errors/gateway-error.js';
import type { QueueReason, Refusal } from '../fairness/fair-queue.js';

/** Why a call got no slot (fairness/fair-queue.ts), or, with a slot, no room in the service's rate budget before its deadline (rate-budget.ts). */
export type OverloadReason = QueueReason | 'rate_budget';
/** A refusal of the queue or of the rate budget. */
export type OverloadRefusal = Omit<Refusal, 'reason'> & { reason: OverloadReason };

/**
 * Turns what can go wrong on one HTTP exchange (an HTTP status, an undici error) into a
 * `DownstreamError`, and says which of those are worth a retry and which count against the
 * circuit breaker. Raw undici errors never leave `src/downstream/`: they travel only as `cause`.
 */

/** Statuses a read is retried on: the service is briefly unable, not wrong about the request. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** Statuses whose body's `error` string is shown to the client: the client can fix the input. */
const USER_INPUT_STATUSES = new Set([400, 409, 422]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** The error for a non-2xx response; `body` is the parsed JSON body, if there was one. */
export function errorForStatus(service: string, request: string, status: number, body: unknown, retryAfterMs: number | undefined): DownstreamError {
  const bodyMessage = errorMessageOf(body);
  if (status === 404) {
    return new DownstreamError('NOT_FOUND', service, `http_${status}`, `${service} service: ${bodyMessage ?? 'not found'} (${request})`, {
      status,
    });
  }
  if (USER_INPUT_STATUSES.has(status)) {
    return new DownstreamError(
      'BAD_USER_INPUT',
      service,
      `http_${status}`,
      bodyMessage ?? `${service} service rejected the request with HTTP ${status} (${request})`,
      { status },
    );
  }
  return new DownstreamError('DOWNSTREAM_UNAVAILABLE', service, `http_${status}`, `${service} service answered HTTP ${status}`, {
    status,
    // Rounded up: a client that waits the advertised seconds must not arrive early.
    extensions: retryAfterMs === undefined ? undefined : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) },
  });
}

export type TimeoutKind = 'connect' | 'headers' | 'body';

/**
 * Which of undici's own timeouts fired, if any. Matched on `code` rather than `instanceof` so
 * that an error from a second copy of undici (e.g. Node's bundled one) is recognised too.
 */
export function undiciTimeoutKind(error: unknown): TimeoutKind | undefined {
  switch (errorCode(error)) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'headers';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'body';
    default:
      return undefined;
  }
}

const TIMEOUT_WHAT: Record<TimeoutKind | 'total', string> = {
  connect: 'connecting',
  headers: 'waiting for response headers',
  body: 'reading the response body',
  total: 'for the whole call',
};

export function timeoutError(service: string, kind: TimeoutKind | 'total', ms: number, cause?: unknown): DownstreamError {
  return new DownstreamError('DOWNSTREAM_TIMEOUT', service, 'timeout', `${service} service timed out after ${ms} ms ${TIMEOUT_WHAT[kind]}`, {
    cause,
  });
}

/** Connection refused, reset, DNS failure, TLS failure, ...: the message keeps only the code. */
export function networkError(service: string, cause: unknown): DownstreamError {
  const code = errorCode(cause);
  const detail = code && /^[A-Z0-9_]+$/.test(code) ? ` (${code})` : '';
  return new DownstreamError('DOWNSTREAM_UNAVAILABLE', service, 'network', `${service} service is unreachable${detail}`, { cause });
}

export function badResponseError(service: string, status: number, cause?: unknown): DownstreamError {
  return new DownstreamError('DOWNSTREAM_UNAVAILABLE', service, 'bad_response', `${service} service sent a response that is not valid JSON (HTTP ${status})`, {
    status,
    cause,
  });
}

export function circuitOpenError(service: string, halfOpenAfterMs: number): DownstreamError {
  return new DownstreamError(
    'DOWNSTREAM_UNAVAILABLE',
    service,
    'circuit_open',
    `${service} service is failing; its circuit breaker is open and calls are refused for up to ${halfOpenAfterMs} ms`,
  );
}

/** What the overloaded message says about the queue: the bounds it hit. */
export interface QueueBounds {
  maxQueue: number;
  maxQueuePerTenant: number;
  /** The concurrency limit when the call was refused. */
  limit: number;
  /** The service's rate budget, if it has one. */
  rateLimit?: { calls: number; perMs: number } | undefined;
}

/** The longest `Retry-After` an overloaded call is told, s: past it the hint is a guess about a queue that will have changed. */
const MAX_OVERLOAD_RETRY_AFTER_SECONDS = 30;

/**
 * DOWNSTREAM_OVERLOADED: the call got no slot (fair-queue.ts says why). `retryAfterSeconds` is
 * how long the queue ahead needs to drain at the recent pace, rounded up, 1 to 30 s.
 */
export function overloadedError(service: string, refusal: OverloadRefusal, bounds: QueueBounds): DownstreamError {
  const waited = `waited ${Math.round(refusal.waitedMs)} ms`;
  const why: Record<OverloadReason, string> = {
    queue_full: `${bounds.maxQueue} calls are already waiting for one of its ${bounds.limit} slots`,
    tenant_queue_full: `this tenant already has ${bounds.maxQueuePerTenant} calls waiting, the most one tenant may`,
    shed: `the call was shed from the full queue for a more urgent one (${waited})`,
    queue_timeout: `no slot came free before the call's deadline (${waited})`,
    expected_wait: `the calls ahead of this one would not let it finish before its deadline`,
    rate_budget: bounds.rateLimit
      ? `its budget of ${bounds.rateLimit.calls} calls per ${bounds.rateLimit.perMs} ms, across the gateway fleet, has no room before the call's deadline (${waited})`
      : `its call budget has no room before the call's deadline (${waited})`,
  };
  const retryAfterSeconds = Math.min(MAX_OVERLOAD_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(refusal.drainMs / 1000)));
  return new DownstreamError(
    'DOWNSTREAM_OVERLOADED',
    service,
    refusal.reason,
    `${service} service is overloaded: ${why[refusal.reason]}. Retry in ${retryAfterSeconds} s.`,
    {
      extensions: { retryAfterSeconds },
    },
  );
}

export function cancelledError(service: string, cause?: unknown): DownstreamError {
  return new DownstreamError('DOWNSTREAM_UNAVAILABLE', service, 'cancelled', `${service} service call was cancelled by the caller`, {
    cause,
  });
}

/**
 * Whether a call's final error says the service is unhealthy (5xx, 429, timeout, network) and
 * so counts against the circuit breaker. A 4xx means the service answered sensibly about a bad
 * request; DOWNSTREAM_OVERLOADED and `cancelled` are our own doing.
 */
export function countsAgainstBreaker(error: unknown): boolean {
  if (!(error instanceof DownstreamError)) return false;
  if (error.code === 'DOWNSTREAM_TIMEOUT') return true;
  if (error.reason === 'network' || error.reason === 'http_429') return true;
  return error.code === 'DOWNSTREAM_UNAVAILABLE' && error.status !== undefined && error.status >= 500;
}

function errorMessageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'string' && error.length > 0 ? error : undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
