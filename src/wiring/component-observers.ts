import { Cluster } from 'ioredis';
import { checkRedis } from '../stores/readiness.js';
import type { RedisClient } from '../stores/redis.js';
import type { Alerts } from '../alerts/alerts.js';
import type { ConfigSource } from '../config/source.js';
import type { Downstream } from '../downstream/downstream.js';
import type { Limiter } from '../limits/limiter.js';
import type { Meter } from '../usage/meter.js';
import type { UsageStore } from '../usage/store.js';
import type { Logger } from '../observability/logger.js';
import { breakerStateValue, type Metrics } from '../observability/metrics.js';

/** How often a Redis Cluster is checked for being whole (a few commands per master). */
const CLUSTER_CHECK_MS = 1000;

/**
 * Feeds the state gauges before every scrape (breakers, downstream queues and limits, metering buffer), turns Redis connection
 * events into alerts and error counts, and runs the anomaly rule on a timer. Returns a stop
 * function for shutdown.
 */
export function observeComponents(deps: {
  metrics: Metrics;
  meter: Meter;
  limiter: Limiter;
  downstream: Downstream;
  alerts: Alerts;
  usage: UsageStore;
  redis: RedisClient | null;
  config: ConfigSource;
  logger: Logger;
}): () => void {
  const { metrics, meter, limiter, downstream, alerts, redis } = deps;

  metrics.onCollect(() => {
    for (const [service, state] of Object.entries(downstream.states())) {
      metrics.downstreamBreaker.set({ service }, breakerStateValue(state.breaker));
      metrics.downstreamInFlight.set({ service }, state.inFlight);
      metrics.downstreamConcurrencyLimit.set({ service }, state.limit);
      for (const [priority, queued] of Object.entries(state.queuedByPriority)) metrics.downstreamQueueDepth.set({ service, priority }, queued);
    }
    if (redis) metrics.redisBreaker.set({ component: 'limits' }, breakerStateValue(limiter.storeState()));
    const stats = meter.stats();
    metrics.meteringBuffered.set(stats.buffered);
    // Lag: how long the buffer has waited since the last successful flush (0 when empty).
    metrics.meteringFlushLag.set(stats.buffered > 0 && stats.lastFlushAt !== null ? (Date.now() - stats.lastFlushAt) / 1000 : 0);
  });

  const onError = () => {
    metrics.redisErrors.inc({ component: 'redis' });
    alerts.redisStatus('redis', false);
  };
  const onReady = () => alerts.redisStatus('redis', true);
  redis?.on('error', onError);
  redis?.on('ready', onReady);

  // A cluster client stays 'ready' while one master fails or fails over: its own events say
  // nothing. Check the cluster as /readyz does (every slot owned, every master
  // cluster_state:ok) every second, and count and alert a cluster that is not whole.
  const clusterWatch =
    redis instanceof Cluster
      ? setInterval(() => {
          checkRedis(redis).then(onReady, () => {
            if (redis.status === 'ready') onError();
          });
        }, CLUSTER_CHECK_MS)
      : null;
  clusterWatch?.unref();

  const anomalyTimer = setInterval(() => {
    deps.usage
      .anomalies({ now: Date.now() })
      .then((found) => {
        for (const a of found) alerts.anomaly(a);
      })
      .catch((err: unknown) => deps.logger.debug({ err: (err as Error).message }, 'anomaly check failed'));
  }, deps.config.current().alerts.anomalyCheckMs);
  anomalyTimer.unref();

  return () => {
    clearInterval(anomalyTimer);
    redis?.off('error', onError);
    redis?.off('ready', onReady);
    if (clusterWatch) clearInterval(clusterWatch);
  };
}
