import { type Config, SERVICE_NAMES, type ServiceName } from '../config/schema.js';
import { DownstreamError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import { createLoopLag } from '../fairness/loop-lag.js';
import { type RateLimiter, createRateBudget } from './rate-budget.js';
import type { QueueEvent } from './call-context.js';
import { type ServiceClient, type ServiceState, createServiceClient } from './service-client.js';

export interface Downstream {
  client(name: ServiceName): ServiceClient;
  /** Breaker, queue, concurrency limit and retry-budget state of every service, for /readyz and the dashboard. */
  states(): Record<ServiceName, ServiceState>;
  /** Closes every connection pool, letting calls in flight finish. */
  close(): Promise<void>;
}

/** Told about every finished downstream call (retries included): for metrics. Must not throw. */
export type DownstreamObserver = (call: { service: ServiceName; durationMs: number; error: string | null }) => void;

/** Told when each downstream call gets a slot of its service, or is refused one (DOWNSTREAM_OVERLOADED): for metrics. Must not throw. */
export type DownstreamQueueObserver = (event: QueueEvent & { service: ServiceName }) => void;

/** One `ServiceClient` per downstream service, each with its own pool, breaker, fair queue, concurrency limit and budget. */
export function createDownstream(options: {
  urls: Record<ServiceName, string>;
  config: Config['downstream'];
  logger: Logger;
  observer?: DownstreamObserver;
  queueObserver?: DownstreamQueueObserver;
  /** Keeps the services' `rateLimit` budgets across the fleet; required when a service has one. */
  limiter?: RateLimiter;
}): Downstream {
  const { queueObserver, limiter } = options;
  // One clock for each client and its budget: deadlines are compared across them.
  const now = () => performance.now();
  for (const name of SERVICE_NAMES) {
    if (options.config[name].rateLimit && !limiter) throw new Error(`downstream.${name}.rateLimit needs a limiter to keep it: none was given`);
  }
  // One reading of the event loop's delay for every service's adaptive limit.
  const loopLag = createLoopLag();
  const clients = Object.fromEntries(
    SERVICE_NAMES.map((name) => {
      const { rateLimit } = options.config[name];
      const client = createServiceClient({
        name,
        url: options.urls[name],
        config: options.config[name],
        logger: options.logger,
        now,
        loopLagMs: loopLag.lagMs,
        ...(rateLimit && limiter ? { rateBudget: createRateBudget({ service: name, ...rateLimit, limiter, now }) } : {}),
        ...(queueObserver ? { onQueue: (event: QueueEvent) => queueObserver({ ...event, service: name }) } : {}),
      });
      return [name, options.observer ? observed(name, client, options.observer) : client];
    }),
  ) as Record<ServiceName, ServiceClient>;

  return {
    client: (name) => clients[name],
    states: () => Object.fromEntries(SERVICE_NAMES.map((name) => [name, clients[name].state()])) as Record<ServiceName, ServiceState>,
    close: async () => {
      loopLag.stop();
      await Promise.all(SERVICE_NAMES.map((name) => clients[name].close()));
    },
  };
}

/** The client with each call timed and its failure named (the error code, or its reason when known). */
function observed(service: ServiceName, client: ServiceClient, observer: DownstreamObserver): ServiceClient {
  const timed = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const value = await call();
      observer({ service, durationMs: performance.now() - started, error: null });
      return value;
    } catch (err) {
      const error = err instanceof DownstreamError ? err.code : 'INTERNAL';
      observer({ service, durationMs: performance.now() - started, error });
      throw err;
    }
  };
  return {
    name: client.name,
    get: (path, ctx) => timed(() => client.get(path, ctx)),
    send: (method, path, body, ctx) => timed(() => client.send(method, path, body, ctx)),
    state: () => client.state(),
    close: () => client.close(),
  };
}
