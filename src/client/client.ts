/**
 * The gateway's client kit, for web pages and servers alike: `experience-gateway/client`. No
 * dependencies, no DOM, only `fetch`. It sends operations (text or a trusted document's id),
 * paces itself by the RateLimit headers so it does not run into a limit, sends important requests
 * first when little budget is left, retries 429 and 503 of idempotent operations with full-jitter
 * backoff honouring Retry-After, and exposes the current budget for a UI indicator.
 */
import { createBudgetTracker, type Budget, type PacingOptions } from './budget.js';
import { operationTypeOf } from './operation.js';
import { PriorityQueue, type Priority } from './priority-queue.js';
import { readRateLimit } from './rate-limit-headers.js';
import { RETRY_DEFAULTS, RETRYABLE_STATUS, retryDelayMs, type RetryOptions } from './retry.js';

export type { Budget, PacingOptions } from './budget.js';
export type { Priority } from './priority-queue.js';
export type { PolicyState, RateLimitInfo } from './rate-limit-headers.js';
export type { RetryOptions } from './retry.js';

export interface GatewayClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `https://api.example.com/graphql`. */
  url: string;
  /** A publishable key in web pages; a secret key on servers. */
  apiKey: string;
  /** Requests in flight at once, default 4. */
  maxConcurrency?: number;
  retry?: RetryOptions;
  pacing?: PacingOptions;
  /** Off: every request is sent at once (429s then come back to the app, or are retried). Default on. */
  pace?: boolean;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  variables?: Record<string, unknown>;
  operationName?: string;
  /** Default `normal`. When little budget is left, `high` goes first and `low` waits longest. */
  priority?: Priority;
  /**
   * May the request be sent twice? Default: true for a query, false for a mutation or anything
   * the text does not tell (a trusted document's id alone). Only idempotent requests are retried.
   */
  idempotent?: boolean;
}

/** A GraphQL error as the gateway sends it. */
export interface GatewayError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

/** The answer: the GraphQL response, and what HTTP said about it. Errors are results, not exceptions. */
export interface GatewayResult<TData = Record<string, unknown>> {
  data?: TData | null;
  errors?: GatewayError[];
  extensions?: {
    cost?: { requested?: number; actual?: number; typeCost?: number; limit?: { limit: number; remaining: number; resetAt: string } };
    [key: string]: unknown;
  };
  /** HTTP status of the last attempt. */
  status: number;
  /** How many times it was sent (1 + retries). */
  attempts: number;
  requestId: string | null;
}

/** `{ documentId: 'sha256:<hex>' }`: a trusted document registered with the gateway. */
export type Operation = string | { documentId: string };

interface Pending {
  operation: Operation;
  options: RequestOptions;
  priority: Priority;
  key: string;
  idempotent: boolean;
  attempts: number;
  /** The body is the server's; `request<TData>` is the caller's claim about its shape. */
  resolve(result: GatewayResult<unknown>): void;
  reject(error: unknown): void;
}

export function createGatewayClient(options: GatewayClientOptions) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const maxConcurrency = options.maxConcurrency ?? 4;
  const retry = { ...RETRY_DEFAULTS, ...options.retry };
  const pace = options.pace ?? true;
  const tracker = createBudgetTracker(options.pacing);
  const queue = new PriorityQueue<Pending>();
  const listeners = new Set<(budget: Budget) => void>();
  let inFlight = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerAt = Infinity;

  const budget = () => tracker.snapshot(queue.size, inFlight);
  const notify = () => {
    const current = budget();
    for (const listener of listeners) listener(current);
  };

  function wakeAt(at: number): void {
    if (at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timer = null;
        timerAt = Infinity;
        pump();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Sends what may be sent now, in priority order; sets a timer for what must wait. */
  function pump(): void {
    for (const pending of queue.values()) {
      if (inFlight >= maxConcurrency) break;
      if (pace) {
        const admission = tracker.admit(pending.key, pending.priority);
        if (!admission.send) {
          if (admission.retryAt !== null) wakeAt(admission.retryAt);
          continue;
        }
      }
      queue.remove(pending);
      void send(pending);
    }
    notify();
  }

  async function send(pending: Pending): Promise<void> {
    inFlight++;
    pending.attempts++;
    const sentAt = Date.now();
    const reservedFor = tracker.sent(pending.key, sentAt);
    const { operation, options: request } = pending;
    const body = typeof operation === 'string' ? { query: operation } : { documentId: operation.documentId };
    let response: Response;
    let result: Omit<GatewayResult, 'status' | 'attempts' | 'requestId'>;
    try {
      response = await doFetch(options.url, {
        method: 'POST',
        headers: {
          ...options.headers,
          authorization: `Bearer ${options.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        body: JSON.stringify({ ...body, variables: request.variables, operationName: request.operationName }),
      });
      result = (await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status} without a GraphQL body` }] }))) as typeof result;
    } catch (error) {
      inFlight--;
      tracker.answered(pending.key, reservedFor, null, null, sentAt);
      // A network failure: retried like a 503 (idempotent only), without a Retry-After.
      const delay = pending.idempotent && pending.attempts < retry.maxAttempts ? retryDelayMs(pending.attempts, null, retry) : null;
      if (delay === null) pending.reject(error);
      else setTimeout(() => requeue(pending), delay);
      pump();
      return;
    }
    inFlight--;
    const info = readRateLimit(response.headers);
    tracker.answered(pending.key, reservedFor, info, typeof result.extensions?.cost?.requested === 'number' ? result.extensions.cost.requested : null, sentAt);
    if (RETRYABLE_STATUS.has(response.status) && pending.idempotent && pending.attempts < retry.maxAttempts) {
      const delay = retryDelayMs(pending.attempts, info.retryAfterSeconds, retry);
      if (delay !== null) {
        setTimeout(() => requeue(pending), delay);
        pump();
        return;
      }
    }
    pending.resolve({ ...result, status: response.status, attempts: pending.attempts, requestId: response.headers.get('x-request-id') });
    pump();
  }

  function requeue(pending: Pending): void {
    queue.push(pending);
    pump();
  }

  return {
    /** Sends an operation (queued by priority, paced by the budget); resolves with the result, whatever its status. */
    request<TData = Record<string, unknown>>(operation: Operation, requestOptions: RequestOptions = {}): Promise<GatewayResult<TData>> {
      const text = typeof operation === 'string' ? operation : null;
      const idempotent = requestOptions.idempotent ?? (text !== null && operationTypeOf(text, requestOptions.operationName) === 'query');
      return new Promise((resolve, reject) => {
        queue.push({
          operation,
          options: requestOptions,
          priority: requestOptions.priority ?? 'normal',
          // Budgets are learned per operation: its document id or its text (and name).
          key: text === null ? (operation as { documentId: string }).documentId : `${requestOptions.operationName ?? ''}\n${text}`,
          idempotent,
          attempts: 0,
          resolve: (result) => resolve(result as GatewayResult<TData>),
          reject,
        });
        pump();
      });
    },
    /** The budget as the last responses reported it, and the queue. */
    budget,
    /** Called with the budget after every change; returns the unsubscribe function. */
    subscribe(listener: (budget: Budget) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type GatewayClient = ReturnType<typeof createGatewayClient>;
