import type { Logger } from '../observability/logger.js';
import type { AlertEvent } from './events.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './verify.js';

/** Where alert events are POSTed. The config schema's `alerts.webhookUrl`/`webhookSecret` map to `url`/`secret`. */
export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key of the `x-gateway-signature` header (`t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`). */
  secret: string;
  /** Attempts per event, the first included; default 5. */
  maxAttempts?: number;
  /** Backoff before the first retry, doubled per attempt, with jitter (half to all of it); default 500 ms. */
  baseDelayMs?: number;
  /** Cap of a backoff wait and of an honoured `Retry-After`; default 30 s. */
  maxDelayMs?: number;
  /** Timeout of one attempt; default 10 s. */
  timeoutMs?: number;
  /** Events waiting for delivery, beyond those in flight; default 1000. Overflow is dropped, counted and logged. */
  maxQueue?: number;
  /** Deliveries in flight at once (each keeps its slot through its retries); default 4. */
  concurrency?: number;
}

export interface WebhookStats {
  queued: number;
  inFlight: number;
  delivered: number;
  /** Gave up: attempts exhausted or a non-retryable answer (4xx other than 429, 3xx). */
  failed: number;
  /** Refused because the queue was full. */
  dropped: number;
}

/**
 * A bounded background queue POSTing events as JSON, signed, retrying network errors, 5xx and
 * 429 with exponential backoff and jitter (honouring `Retry-After` up to `maxDelayMs`). Nothing
 * waits for it except `flush()`/`close()`. Each attempt is signed when it is sent, so a retry
 * carries a fresh timestamp and passes a receiver's 5-minute tolerance however long the backoff.
 */
export function createWebhookSender(options: {
  config: WebhookConfig;
  logger: Logger;
  /** Clock of the signature timestamps, epoch ms; default Date.now (tests inject one). */
  now?: () => number;
}) {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const maxAttempts = config.maxAttempts ?? 5;
  const baseDelayMs = config.baseDelayMs ?? 500;
  const maxDelayMs = config.maxDelayMs ?? 30_000;
  const timeoutMs = config.timeoutMs ?? 10_000;
  const maxQueue = config.maxQueue ?? 1000;
  const concurrency = config.concurrency ?? 4;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new Error(`alerts webhook maxAttempts must be a positive integer: ${maxAttempts}`);
  }

  const queue: AlertEvent[] = [];
  let inFlight = 0;
  const stats = { delivered: 0, failed: 0, dropped: 0 };
  let idleWaiters: (() => void)[] = [];

  function enqueue(event: AlertEvent): void {
    if (queue.length >= maxQueue) {
      stats.dropped += 1;
      logger.error({ alertId: event.id, kind: event.kind, dropped: stats.dropped }, 'alert webhook queue full; event dropped (it was logged)');
      return;
    }
    queue.push(event);
    pump();
  }

  function pump(): void {
    while (inFlight < concurrency && queue.length > 0) {
      const event = queue.shift()!;
      inFlight += 1;
      void deliver(event).finally(() => {
        inFlight -= 1;
        pump();
        if (inFlight === 0 && queue.length === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  async function deliver(event: AlertEvent): Promise<void> {
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt += 1) {
      const headers = {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signatureHeader(body, config.secret, Math.floor(now() / 1000)),
        [EVENT_ID_HEADER]: event.id,
      };
      let reason: string;
      let retryAfterMs: number | null = null;
      let retryable = true;
      try {
        // `manual`: a redirect would turn the POST into a GET; the URL should be the final one.
        const res = await fetch(config.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        await res.body?.cancel().catch(() => {});
        if (res.ok) {
          stats.delivered += 1;
          return;
        }
        reason = `HTTP ${res.status}`;
        retryable = res.status === 429 || res.status >= 500;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      } catch (err) {
        reason = (err as Error).message;
      }
      if (!retryable || attempt >= maxAttempts) {
        stats.failed += 1;
        logger.error({ alertId: event.id, kind: event.kind, attempts: attempt, reason }, 'alert webhook delivery failed');
        return;
      }
      const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delay = retryAfterMs !== null ? Math.min(maxDelayMs, retryAfterMs) : backoff / 2 + Math.random() * (backoff / 2);
      logger.debug({ alertId: event.id, attempt, reason, delayMs: Math.round(delay) }, 'alert webhook delivery failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  return {
    enqueue,
    /** Resolves once nothing is queued or in flight (retries included). */
    flush(): Promise<void> {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats: (): WebhookStats => ({ queued: queue.length, inFlight, ...stats }),
  };
}

/** `Retry-After` as ms from `now`: delta seconds or an HTTP date; null when absent or unparsable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
