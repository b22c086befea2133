import type { Logger } from './observability/logger.js';
import type { RedisClient } from './stores/redis.js';
import { runCloseSteps, type CloseStep } from './shutdown/close-steps.js';

/** Something with a close that may be sync or async. */
interface Closable {
  close(): unknown;
}

export interface GatewayParts {
  stopDemoTraffic: () => void;
  app: Closable;
  /** The metrics port (a no-op when /metrics is on the public port). */
  metricsEndpoint: Closable;
  /** The admission loop-lag sampler and limit (null when admission is off). */
  timers: ({ stop(): void } | null)[];
  config: Closable;
  stopObserving: () => void;
  meter: { close(options: { until?: number }): Promise<void> };
  /** The request record's buffer and cost calibration's rollup: flushed after the meter. */
  recorder: Closable;
  calibration: Closable;
  /** Billing's audit of plan changes and its records' poller. */
  stopPlanAudit: () => void;
  /** Metered billing's loops (closing hours, sending, reconciling): stopped before the connections close. */
  meteredBilling: { stop(): Promise<void> };
  billingStore: Closable;
  /** Last: the spans of the requests drained above are exported before the process ends. */
  tracing: Closable;
  alerts: Closable;
  overrides: Closable;
  limiter: Closable;
  instances: Closable;
  downstream: Closable;
  sampleServices: Closable | null;
  cacheStore: Closable | null;
  redisClients: (RedisClient | null)[];
  /** The close's deadline (epoch ms), known once close() is called; undefined: none. */
  until: () => number | undefined;
}

/**
 * What `gateway.close()` closes, in this order (the reverse of opening): the port first (Fastify's
 * close runs Apollo's drain plugin, so in-flight requests finish) and the metrics port, then the
 * timers and watchers, then buffered usage and settles go out while the Redis connections are
 * still open, then the connections. runCloseSteps (shutdown/close-steps.ts) runs every step whatever the ones before
 * it did, so a hung drain or a store that is gone never keeps the rest open.
 */
export function gatewayCloseSteps(parts: GatewayParts): CloseStep[] {
  const until = parts.until;
  return [
    { name: 'demo-traffic', close: parts.stopDemoTraffic },
    { name: 'http', close: () => parts.app.close() },
    // After the public port: the drain above can still be watched on /metrics.
    { name: 'metrics-http', close: () => parts.metricsEndpoint.close() },
    {
      name: 'loop-lag',
      close: () => {
        for (const timer of parts.timers) timer?.stop();
      },
    },
    { name: 'config-watcher', close: () => parts.config.close() },
    { name: 'observers', close: parts.stopObserving },
    // Buffered usage is flushed before the Redis connections close: SIGTERM loses nothing.
    { name: 'meter', close: () => parts.meter.close(withUntil(until())) },
    { name: 'record', close: () => parts.recorder.close() },
    { name: 'calibration', close: () => parts.calibration.close() },
    { name: 'alerts', close: () => parts.alerts.close() },
    { name: 'overrides', close: () => parts.overrides.close() },
    { name: 'plan-audit', close: parts.stopPlanAudit },
    { name: 'metered-billing', close: () => parts.meteredBilling.stop() },
    { name: 'billing-store', close: () => parts.billingStore.close() },
    // Settles still waiting for a check to carry them go out before the connections close.
    { name: 'limiter', close: () => parts.limiter.close() },
    { name: 'instances', close: () => parts.instances.close() },
    { name: 'downstream', close: () => parts.downstream.close() },
    { name: 'sample-services', close: () => parts.sampleServices?.close() },
    { name: 'cache-store', close: () => parts.cacheStore?.close() },
    ...parts.redisClients.flatMap((client, i) => (client ? [{ name: `redis-${i + 1}`, close: () => quitOrDisconnect(client, until()) }] : [])),
    { name: 'tracing', close: () => parts.tracing.close() },
  ] as CloseStep[];
}

/**
 * `gateway.close()`: the close steps, made now (`adjust`, the tests' fault injection, sees them
 * at start) and run once: a second call gets the first one's promise. The steps that need the
 * deadline (the meter's flush, QUIT) read it once close() is called.
 */
export function gatewayCloser(
  parts: Omit<GatewayParts, 'until'>,
  options: { adjust: ((steps: CloseStep[]) => CloseStep[]) | undefined; logger: Logger },
): (options?: { until?: number }) => Promise<void> {
  let closeUntil: number | undefined;
  const steps = gatewayCloseSteps({ ...parts, until: () => closeUntil });
  const closeSteps = options.adjust ? options.adjust(steps) : steps;
  let closing: Promise<void> | undefined;
  return ({ until } = {}) => {
    if (closing) return closing;
    closeUntil = until;
    closing = runCloseSteps(closeSteps, {
      ...(until === undefined ? {} : { until }),
      onFailure: (step, reason, err) => options.logger.error({ step, reason, err }, 'close step failed; closing the rest'),
    });
    return closing;
  };
}

function withUntil(until: number | undefined): { until?: number } {
  return until === undefined ? {} : { until };
}

/**
 * QUIT, and once Redis has answered, the connection's end (its socket closed); a hard disconnect
 * instead when QUIT fails or has not ended by `until`: QUIT waits for Redis to answer, and a Redis
 * that is gone never does (ioredis keeps the command queued while it reconnects).
 */
async function quitOrDisconnect(client: RedisClient, until: number | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    if (until !== undefined) timer = setTimeout(() => resolve(false), Math.max(0, until - Date.now()));
  });
  const ended = new Promise<true>((resolve) => client.once('end', () => resolve(true)));
  try {
    const quit = client.quit().then(() => (client.status === 'end' ? true : ended));
    if (await Promise.race([quit, deadline])) return;
  } catch {
    // Closed or refused already: the disconnect below releases the socket and the reconnect timer.
  } finally {
    clearTimeout(timer);
  }
  client.disconnect();
}
