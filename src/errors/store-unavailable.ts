import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import { GatewayError } from './gateway-error.js';

/**
 * How long a client is told to wait when a store is unreachable, 5 s: the Redis connection
 * retries at least every second, and the limit store's breaker tries again after 2 s, so a
 * restarted Redis is back in use well within it.
 */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * Longest a store call made for a client's answer (usage reads, override writes) may take before
 * it counts as unavailable, 3 s. The shared Redis connection fails fast while disconnected, but
 * a Redis that stops answering on an open connection (paused, swapping) would otherwise hold the
 * request until TCP gives up.
 */
export const STORE_CALL_TIMEOUT_MS = 3000;

/** Which store failed, in the error's extensions. */
export type StoreName = 'usage' | 'limit-overrides' | 'trusted-documents';

/** HTTP 503 with `Retry-After`: the answer needs a store that cannot be reached right now. */
export class StoreUnavailableError extends GatewayError {
  constructor(store: StoreName, message: string, options: { cause?: unknown } = {}) {
    super('STORE_UNAVAILABLE', `${message} Retry in ${STORE_RETRY_AFTER_SECONDS} s.`, {
      extensions: { store, retryAfterSeconds: STORE_RETRY_AFTER_SECONDS },
      cause: options.cause,
    });
  }
}

/**
 * Runs a store call for a client's answer: a connection failure, a Redis that cannot serve
 * (LOADING, READONLY, OOM, ...) or no answer within STORE_CALL_TIMEOUT_MS becomes a
 * StoreUnavailableError carrying `message`. Anything else (a bad query, a bug) is rethrown as is.
 */
export async function storeCall<T>(store: StoreName, message: string, work: Promise<T>, timeoutMs = STORE_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (isStoreFailure(err)) throw new StoreUnavailableError(store, message, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    // The call may still settle after the timeout: its rejection is already reported.
    work.catch(() => {});
  }
}

class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
  constructor(ms: number) {
    super(`no answer from the store within ${ms} ms`);
  }
}

/** ioredis / redis-errors classes that mean the command did not get a usable answer. */
const FAILURE_NAMES = new Set(['StoreTimeoutError', 'MaxRetriesPerRequestError', 'AbortError', 'InterruptError', 'ParserError']);
/** Messages ioredis uses for plain Errors about the connection. */
const CONNECTION_MESSAGE =
  /^(Connection is closed\.|Stream isn't writeable|Command timed out|connect E[A-Z]+)|\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)\b/;
/** Redis replies that mean "not now" rather than "wrong command". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|OOM|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/** Whether `err` says the store could not be reached or could not serve, as opposed to a bug. */
export function isStoreFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (FAILURE_NAMES.has(err.name) || FAILURE_NAMES.has(err.constructor.name)) return true;
  if (err.name === 'ReplyError') return UNAVAILABLE_REPLY.test(err.message);
  return CONNECTION_MESSAGE.test(err.message);
}

/**
 * Sets `Retry-After` on any GraphQL response carrying a STORE_UNAVAILABLE error, and answers 503
 * when nothing else could be served (no scalar or list in `data`, only nulls and objects of
 * nulls): a partial answer (the `usage` limits and windows, with its history missing) stays 200,
 * as GraphQL over HTTP has it. An empty list is an answer (no anomalies), so it counts.
 * A step of the request path's `willSendResponse` (http/pipeline.ts).
 */
export function storeUnavailableStatus(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const { errors, data } = response.body.singleResult;
  if (!errors?.some((e) => e.extensions?.code === 'STORE_UNAVAILABLE')) return;
  response.http.headers.set('retry-after', String(STORE_RETRY_AFTER_SECONDS));
  if (!hasContent(data)) response.http.status = 503;
}

/** `storeUnavailableStatus` as a plugin, for an Apollo Server without the gateway's request path. */
export function storeUnavailablePlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          storeUnavailableStatus(response);
        },
      };
    },
  };
}

/** Whether `data` answers anything: a scalar or a list somewhere, not only nulls and objects of nulls. */
export function hasContent(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return true;
  if (typeof value === 'object') return Object.values(value).some(hasContent);
  return true;
}
