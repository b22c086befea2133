import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../stores/redis.js';
import type { Logger } from '../observability/logger.js';
import { type AlertEvent, stableEventId } from './events.js';
import { createFiredSet } from './fired-set.js';
import { createWebhookSender, type WebhookConfig, type WebhookSender, type WebhookStats } from './webhook.js';

/**
 * One dimension's state after a limit check (a `DimensionResult` plus what identifies its window).
 *
 * Which window a threshold crossing belongs to:
 * - calendar quotas (day, month): no `windowMs`; `resetAt` (the start of the next period) is the
 *   window, the same on every instance.
 * - sliding windows: pass `windowMs`. Their `resetAt` moves with every sub-bucket, so it cannot
 *   name a window; instead the window is the fixed, epoch-aligned period
 *   `floor(now / windowMs)`, ending at `(floor(now / windowMs) + 1) * windowMs`. Every instance
 *   computes the same period from the store clock alone, with no shared state, so the Redis
 *   dedupe key matches fleet-wide. Consequence: a tenant that stays above 80% of a per-minute
 *   budget gets one 80% event per minute (once per window, as specified), not one per episode.
 *   Without `windowMs` a sliding result would be keyed by its moving `resetAt` and fire far too
 *   often: always pass it for sliding dimensions.
 */
export interface LimitObservation {
  /** Names the limit within the tenant (`day`, `month`, `cost-minute`, ...). Per-client or per-IP dimensions should not be passed: they would share one alert. */
  policy: string;
  used: number;
  limit: number;
  /** Epoch ms. */
  resetAt: number;
  /** Sliding windows only: the window length in ms (`Dimension.windowMs`). */
  windowMs?: number;
}

export interface AlertsOptions {
  logger: Logger;
  /** Shared Redis for fleet-wide dedupe; null in a single process (the in-process set is enough). */
  redis: RedisClient | null;
  webhook: WebhookConfig | null;
  /** Clock, epoch ms; default Date.now. */
  now?: () => number;
  /** At most one anomaly event per tenant per this period, fleet-wide; default 1 hour. */
  anomalyIntervalMs?: number;
  /** In-process fired-alert entries kept at most; default 100,000 (~10 MB). */
  maxTracked?: number;
}

export interface AlertsStats extends WebhookStats {
  /** Events logged (and handed to the webhook, if any). */
  emitted: number;
  /** Newly crossed here, but another instance had already fired it (Redis SET NX lost). */
  deduped: number;
}

export interface Alerts {
  /**
   * Called by the limit gate's observer with a request's per-dimension results. Synchronous and cheap:
   * below 80% it is a comparison per result; above, a map lookup; only a newly crossed threshold
   * starts (without awaiting) a Redis SET NX and then a delivery. `now` is the decision's store
   * clock (default: the `now` option).
   */
  observeLimits(input: { tenantId: string; planId: string; results: readonly LimitObservation[]; now?: number }): void;
  /** An anomaly from the detector; at most one per tenant per `anomalyIntervalMs`, fleet-wide. */
  anomaly(input: { tenantId: string; currentPerMinute: number; baselinePerMinute: number; ratio: number; planId?: string }): void;
  /**
   * Points later events at another webhook (or none), e.g. after a config reload. Events already
   * queued for the previous one are still delivered there (flush and close wait for them).
   */
  setWebhook(webhook: WebhookConfig | null): void;
  /**
   * A billing event the gateway could not apply and answered 200 all the same (an unknown price
   * or customer: retrying would not help), once per event id fleet-wide, so someone looks.
   */
  billingUnapplied(input: { eventId: string; eventType: string; reason: string; tenantId?: string; details?: Record<string, unknown> }): void;
  /** Fires redis_unavailable once on the transition to down, redis_recovered once on the way back (per component, per instance; initially up). */
  redisStatus(component: string, up: boolean): void;
  /** Waits for in-flight dedupe checks and deliveries, retries included (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes; afterwards events are only logged (no Redis, no webhook). */
  close(): Promise<void>;
  stats(): AlertsStats;
}

/** Dedupe entries outlive their window by this much, covering clock skew between instances. */
const SLACK_MS = 5 * 60_000;
const THRESHOLDS_BELOW_LIMIT = [80] as const;
const THRESHOLDS_AT_LIMIT = [80, 100] as const;

/**
 * Alert events: limit thresholds (80% and 100% of any quota or budget, once per threshold per
 * window), anomalies, and Redis outages. Every event is logged with `logger.warn({ alert })`
 * and, with a webhook configured, POSTed from a bounded background queue.
 *
 * Dedupe: an in-process set first, so steady traffic over a threshold costs a map lookup; a
 * threshold newly crossed in this process is then claimed fleet-wide with
 * `SET alert:{tenant}:<policy>:<windowResetAt>:<threshold> 1 NX PX <until window end + 5 min>`,
 * and only the instance that wins sends it. If that SET fails (Redis down), the event is sent
 * anyway: a duplicate is better than a missed alert. A jump straight past 100% fires both 80
 * and 100 (each threshold is its own event).
 */
export function createAlerts(options: AlertsOptions): Alerts {
  const { logger, redis } = options;
  const now = options.now ?? Date.now;
  const anomalyIntervalMs = options.anomalyIntervalMs ?? 3_600_000;
  const fired = createFiredSet({ maxEntries: options.maxTracked ?? 100_000, now });
  let sender: WebhookSender | null = null;
  // Every sender this instance has had, so flush, close and stats still cover one replaced by a reload.
  const senders: WebhookSender[] = [];
  function setWebhook(webhook: WebhookConfig | null): void {
    sender = webhook ? createWebhookSender({ config: webhook, logger }) : null;
    if (sender) senders.push(sender);
  }
  setWebhook(options.webhook);
  const pending = new Set<Promise<void>>();
  const redisUp = new Map<string, boolean>();
  const instance = `${hostname()}:${process.pid}`;
  let closed = false;
  let emitted = 0;
  let deduped = 0;

  function emit(event: AlertEvent): void {
    emitted += 1;
    logger.warn({ alert: event }, `alert: ${event.kind}`);
    if (sender && !closed) sender.enqueue(event);
  }

  /** Fires `event` unless `key` already fired in this process or, with Redis, in the fleet. */
  function fireOnce(key: string, windowEnd: number, at: number, event: AlertEvent): void {
    if (!fired.add(key, windowEnd + SLACK_MS)) return;
    if (!redis || closed) {
      emit(event);
      return;
    }
    const ttl = Math.max(1, Math.ceil(windowEnd + SLACK_MS - at));
    const claim = redis
      .set(key, '1', 'PX', ttl, 'NX')
      .then(
        (won) => {
          if (won === 'OK') emit(event);
          else deduped += 1;
        },
        (err: Error) => {
          logger.debug({ err: err.message, alertId: event.id }, 'alert dedupe in Redis failed; sending anyway');
          emit(event);
        },
      )
      .finally(() => pending.delete(claim));
    pending.add(claim);
  }

  function observeLimits(input: { tenantId: string; planId: string; results: readonly LimitObservation[]; now?: number }): void {
    let at: number | undefined;
    for (const r of input.results) {
      // The hot path: under 80% (used / limit < 4 / 5, in integers) nothing else happens.
      if (r.limit <= 0 || r.used * 5 < r.limit * 4) continue;
      at ??= input.now ?? now();
      const windowEnd = r.windowMs && r.windowMs > 0 ? (Math.floor(at / r.windowMs) + 1) * r.windowMs : r.resetAt;
      for (const threshold of r.used >= r.limit ? THRESHOLDS_AT_LIMIT : THRESHOLDS_BELOW_LIMIT) {
        const key = `alert:{${input.tenantId}}:${r.policy}:${windowEnd}:${threshold}`;
        fireOnce(key, windowEnd, at, {
          id: stableEventId(['limit_threshold', input.tenantId, r.policy, windowEnd, threshold]),
          kind: 'limit_threshold',
          at: new Date(at).toISOString(),
          tenantId: input.tenantId,
          planId: input.planId,
          policy: r.policy,
          threshold,
          used: r.used,
          limit: r.limit,
          windowResetAt: new Date(windowEnd).toISOString(),
        });
      }
    }
  }

  function anomaly(input: { tenantId: string; currentPerMinute: number; baselinePerMinute: number; ratio: number; planId?: string }): void {
    const at = now();
    const windowEnd = (Math.floor(at / anomalyIntervalMs) + 1) * anomalyIntervalMs;
    fireOnce(`alert:{${input.tenantId}}:anomaly:${windowEnd}`, windowEnd, at, {
      id: stableEventId(['anomaly', input.tenantId, windowEnd]),
      kind: 'anomaly',
      at: new Date(at).toISOString(),
      tenantId: input.tenantId,
      ...(input.planId === undefined ? {} : { planId: input.planId }),
      windowResetAt: new Date(windowEnd).toISOString(),
      details: { currentPerMinute: input.currentPerMinute, baselinePerMinute: input.baselinePerMinute, ratio: input.ratio },
    });
  }

  function billingUnapplied(input: { eventId: string; eventType: string; reason: string; tenantId?: string; details?: Record<string, unknown> }): void {
    const at = now();
    // Stripe retries a delivery for up to 3 days; one alert per event covers them all.
    const until = at + 3 * 24 * 3600 * 1000;
    fireOnce(`alert:billing:${input.eventId}`, until, at, {
      id: stableEventId(['billing_unapplied', input.eventId]),
      kind: 'billing_unapplied',
      at: new Date(at).toISOString(),
      ...(input.tenantId === undefined ? {} : { tenantId: input.tenantId }),
      details: { eventId: input.eventId, eventType: input.eventType, reason: input.reason, ...input.details },
    });
  }

  function redisStatus(component: string, up: boolean): void {
    if ((redisUp.get(component) ?? true) === up) return;
    redisUp.set(component, up);
    // Not deduped through Redis (it may be the thing that is down): each instance reports its own view.
    emit({
      id: randomUUID(),
      kind: up ? 'redis_recovered' : 'redis_unavailable',
      at: new Date(now()).toISOString(),
      details: { component, instance },
    });
  }

  async function flush(): Promise<void> {
    do {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await Promise.all(senders.map((s) => s.flush()));
    } while (pending.size > 0);
  }

  return {
    observeLimits,
    anomaly,
    redisStatus,
    setWebhook,
    billingUnapplied,
    flush,
    close: async () => {
      await flush();
      closed = true;
    },
    stats: () => {
      const total: WebhookStats = { queued: 0, inFlight: 0, delivered: 0, failed: 0, dropped: 0 };
      for (const one of senders) {
        const s = one.stats();
        for (const key of Object.keys(total) as (keyof WebhookStats)[]) total[key] += s[key];
      }
      return { emitted, deduped, ...total };
    },
  };
}
