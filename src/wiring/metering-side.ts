import { createAlerts, type Alerts } from '../alerts/alerts.js';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import { backfillDemoHistory, type SyntheticHistory } from '../demo/backfill.js';
import type { Logger } from '../observability/logger.js';
import { createRequestRecordParts, type RequestRecordParts } from '../record/request-record-parts.js';
import type { RedisClient } from '../stores/redis.js';
import { createMemoryUsageStore } from '../usage/memory-usage-store.js';
import { createMeter, createNoopMeter, type Meter } from '../usage/meter.js';
import { createRedisUsageStore } from '../usage/redis-usage-store.js';
import type { UsageStore } from '../usage/store.js';

export interface MeteringSide {
  alerts: Alerts;
  usageStore: UsageStore;
  meter: Meter;
  /** Null when `record.enabled` is off. */
  record: RequestRecordParts | null;
  /** The span of the demo's synthetic history, null when none was written. */
  synthetic: SyntheticHistory | null;
}

/**
 * Alerts (log + optional signed webhook), the usage meter, buffered in process and flushed to
 * Redis (or kept in memory) every second, and the request record, written like the usage.
 */
export async function createMeteringSide(deps: {
  config: ConfigSource;
  initial: Config;
  redis: RedisClient | null;
  /** Limits decided in a shared store (the record waits for their settles). */
  sharedLimits: boolean;
  logger: Logger;
}): Promise<MeteringSide> {
  const { config, initial, redis, logger } = deps;
  const webhookOf = (a: Config['alerts']) => (a.webhookUrl ? { url: a.webhookUrl, secret: a.webhookSecret! } : null);
  const alerts = createAlerts({ logger, redis, webhook: webhookOf(initial.alerts) });
  // The webhook follows config reloads (src/config/reload-scope.ts lists it as live).
  config.onChange((next, previous) => {
    if (next.alerts.webhookUrl !== previous.alerts.webhookUrl || next.alerts.webhookSecret !== previous.alerts.webhookSecret) {
      alerts.setWebhook(webhookOf(next.alerts));
    }
  });
  const usageStore = redis ? createRedisUsageStore({ redis }) : createMemoryUsageStore();
  const meter = initial.usage.enabled ? createMeter({ store: usageStore, intervalMs: initial.usage.flushIntervalMs, logger }) : createNoopMeter();
  // The request record (record/RECORD.md): what limits saw, per request, for replay; written like the usage.
  const record = createRequestRecordParts({ config: initial.record, redis, sharedLimits: deps.sharedLimits, logger });
  // The demo's synthetic month (config demo.backfillDays): only into the in-memory store, never
  // into a Redis that real instances share. The pages label the span it covers.
  if (initial.demo.backfillDays > 0 && redis) logger.warn('demo.backfillDays is ignored with Redis: synthetic history goes only into the in-memory store');
  const synthetic =
    initial.demo.backfillDays > 0 && !redis
      ? await backfillDemoHistory({ store: usageStore, config: initial, days: initial.demo.backfillDays, now: Date.now() })
      : null;
  return { alerts, usageStore, meter, record, synthetic };
}
