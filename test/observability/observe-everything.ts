import type { Metrics } from '../../src/observability/metrics.js';

/** Every gateway series, by the name its family is declared with, and its type. */
export const SERIES = {
  graphql_requests_total: 'counter',
  graphql_throttled_total: 'counter',
  graphql_request_duration_seconds: 'histogram',
  limit_check_duration_seconds: 'histogram',
  graphql_operation_cost: 'histogram',
  graphql_operation_cost_ratio: 'histogram',
  cache_requests_total: 'counter',
  cache_refused_total: 'counter',
  downstream_request_duration_seconds: 'histogram',
  downstream_errors_total: 'counter',
  downstream_breaker_state: 'gauge',
  downstream_queue_wait_seconds: 'histogram',
  downstream_shed_total: 'counter',
  downstream_queue_depth: 'gauge',
  downstream_in_flight: 'gauge',
  downstream_concurrency_limit: 'gauge',
  redis_errors_total: 'counter',
  redis_breaker_state: 'gauge',
  usage_flush_lag_seconds: 'gauge',
  usage_buffered_events: 'gauge',
} as const;

/** One observation in every series, with `tenant` ids run through the label rule. */
export function observeEverything(metrics: Metrics, tenantId = 'acme'): void {
  const tenant = metrics.tenantLabel(tenantId);
  metrics.requests.inc({ plan: 'pro', status: 'ok', root_field: 'Query.product', tenant });
  metrics.throttled.inc({ plan: 'free', dimension: 'quota', tenant });
  metrics.requestDuration.observe({ plan: 'pro', status: 'ok' }, 0.042);
  metrics.limitCheckDuration.observe({ source: 'shared' }, 0.0004);
  metrics.cost.observe({ kind: 'requested', plan: 'pro' }, 12);
  metrics.cost.observe({ kind: 'actual', plan: 'pro' }, 7);
  metrics.costRatio.observe({ plan: 'pro' }, 12 / 7);
  metrics.cacheRequests.inc({ field: 'Query.product', result: 'hit' });
  metrics.cacheRefused.inc({ field: 'Query.product', reason: 'scope' });
  metrics.downstreamDuration.observe({ service: 'catalog', outcome: 'ok' }, 0.012);
  metrics.downstreamErrors.inc({ service: 'orders', code: 'DOWNSTREAM_TIMEOUT' });
  metrics.downstreamBreaker.set({ service: 'catalog' }, 0);
  metrics.downstreamQueueWait.observe({ service: 'catalog', priority: 'normal', plan: 'pro' }, 0.003);
  metrics.downstreamShed.inc({ service: 'catalog', priority: 'batch', plan: 'free', reason: 'tenant_queue_full' });
  metrics.downstreamQueueDepth.set({ service: 'catalog', priority: 'normal' }, 3);
  metrics.downstreamInFlight.set({ service: 'catalog' }, 8);
  metrics.downstreamConcurrencyLimit.set({ service: 'catalog' }, 12);
  metrics.redisErrors.inc({ component: 'limits' });
  metrics.redisBreaker.set({ component: 'limits' }, 2);
  metrics.meteringFlushLag.set(0.5);
  metrics.meteringBuffered.set(17);
}
