import { SERVICE_NAMES, type Config, type ServiceName } from '../config/schema.js';
import { createDownstream, type Downstream } from '../downstream/downstream.js';
import type { Limiter } from '../limits/limiter.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startSampleServices, type SampleServices } from '../sample-services/start.js';

/**
 * Where each downstream service is: its configured URL, or the embedded sample services, started
 * here when some service has no URL (none when the caller brings its own `downstream`).
 */
export async function startMissingServices(
  initial: Config,
  given: Downstream | undefined,
): Promise<{ sampleServices: SampleServices | null; urls: Record<ServiceName, string> }> {
  const missing = given ? [] : SERVICE_NAMES.filter((name) => !initial.downstream[name].url);
  const sampleServices = missing.length > 0 ? await startSampleServices() : null;
  const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, initial.downstream[name].url ?? sampleServices?.urls[name]])) as Record<
    ServiceName,
    string
  >;
  return { sampleServices, urls };
}

/** One HTTP client per service, its calls and queue waits counted in the metrics. */
export function createObservedDownstream(deps: {
  urls: Record<ServiceName, string>;
  initial: Config;
  limiter: Limiter;
  metrics: Metrics;
  logger: Logger;
}): Downstream {
  const { metrics } = deps;
  return createDownstream({
    urls: deps.urls,
    config: deps.initial.downstream,
    logger: deps.logger,
    observer: ({ service, durationMs, error }) => {
      metrics.downstreamDuration.observe({ service, outcome: error ? 'error' : 'ok' }, durationMs / 1000);
      if (error) metrics.downstreamErrors.inc({ service, code: error });
    },
    // Services' rateLimit budgets are kept fleet-wide by the same limiter as the plans' limits.
    limiter: deps.limiter,
    queueObserver: ({ service, priority, plan, waitedMs, reason }) => {
      if (reason) metrics.downstreamShed.inc({ service, priority, plan, reason });
      else metrics.downstreamQueueWait.observe({ service, priority, plan }, waitedMs / 1000);
    },
  });
}
