import type { Pool } from 'undici';
import type { DownstreamServiceConfig } from '../config/schema.js';
import type { DownstreamError } from '../errors/gateway-error.js';
import type { CallContext } from './call-context.js';
import { badResponseError, errorForStatus, isRetryableStatus, networkError, timeoutError, undiciTimeoutKind } from './http-errors.js';
import { parseRetryAfter } from './retry.js';

/**
 * One HTTP request and its response, reduced to a value or a classified failure. Never throws
 * for anything the network or the service does; the retry loop decides what a failure means.
 */
export type Outcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: DownstreamError;
      /** Worth another attempt if the call is a read and budget and deadline allow. */
      retryable: boolean;
      /** The response's `Retry-After`, in ms. */
      retryAfterMs?: number;
    };

export interface ExchangeRequest {
  method: string;
  /** Path and query, starting with `/`, below the service's base path. */
  path: string;
  /** JSON text, or undefined for no body. */
  payload: string | undefined;
  ctx: Pick<CallContext, 'tenantId' | 'requestId' | 'trace'>;
  /** Aborts on the total deadline or the caller's signal. */
  signal: AbortSignal;
  /** The error for an aborted signal: a total timeout or a cancelled call. */
  abortError: (cause?: unknown) => DownstreamError;
}

export type Exchange = <T>(request: ExchangeRequest) => Promise<Outcome<T>>;

export function createExchange(options: {
  name: string;
  pool: Pool;
  /** The service's origin (`http://host:port`), for the URL a traced attempt names. */
  origin: string;
  /** The base URL's path without a trailing slash, e.g. `` or `/api`. */
  basePath: string;
  timeouts: DownstreamServiceConfig['timeouts'];
}): Exchange {
  const { name, pool, origin, basePath, timeouts } = options;
  const limitMs = { connect: timeouts.connectMs, headers: timeouts.firstByteMs, body: timeouts.totalMs };

  function thrown(error: unknown, request: ExchangeRequest): Outcome<never> {
    if (request.signal.aborted) return { ok: false, error: request.abortError(error), retryable: false };
    const kind = undiciTimeoutKind(error);
    if (kind) return { ok: false, error: timeoutError(name, kind, limitMs[kind], error), retryable: true };
    return { ok: false, error: networkError(name, error), retryable: true };
  }

  return async function exchange<T>(request: ExchangeRequest): Promise<Outcome<T>> {
    const headers: Record<string, string> = {
      'x-tenant-id': request.ctx.tenantId,
      'x-request-id': request.ctx.requestId,
      accept: 'application/json',
    };
    if (request.payload !== undefined) headers['content-type'] = 'application/json';
    const span = request.ctx.trace?.start(request.method, origin + basePath + request.path);
    if (span) Object.assign(headers, span.headers);

    // Our own first-byte timer, beside undici's `headersTimeout`: undici runs that one on its
    // coarse "fast timers" (a tick every ~500 ms), so it fires up to about a second late, which
    // matters for a 200 ms budget. It starts when the attempt does, so connecting counts too.
    const firstByte = new AbortController();
    const firstByteTimer = setTimeout(() => firstByte.abort(), timeouts.firstByteMs);
    let status: number;
    let retryAfterHeader: string | string[] | undefined;
    let text: string;
    try {
      const response = await pool.request({
        method: request.method,
        path: basePath + request.path,
        headers,
        body: request.payload,
        signal: AbortSignal.any([request.signal, firstByte.signal]),
      });
      clearTimeout(firstByteTimer);
      status = response.statusCode;
      retryAfterHeader = response.headers['retry-after'];
      // Error bodies are read too: their `error` string is the message, and a fully read body
      // lets the socket go back to the pool.
      text = await response.body.text();
      span?.end({ status });
    } catch (error) {
      clearTimeout(firstByteTimer);
      span?.end({ error: error instanceof Error ? error.name : 'Error' });
      if (firstByte.signal.aborted && !request.signal.aborted) {
        return { ok: false, error: timeoutError(name, 'headers', timeouts.firstByteMs, error), retryable: true };
      }
      return thrown(error, request);
    }

    let body: unknown;
    let parseError: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      parseError = error;
    }

    if (status >= 200 && status < 300) {
      if (parseError !== undefined) return { ok: false, error: badResponseError(name, status, parseError), retryable: false };
      return { ok: true, value: body as T };
    }
    const retryAfterMs = parseRetryAfter(retryAfterHeader);
    return {
      ok: false,
      error: errorForStatus(name, `${request.method} ${request.path}`, status, body, retryAfterMs),
      retryable: isRetryableStatus(status),
      retryAfterMs,
    };
  };
}
