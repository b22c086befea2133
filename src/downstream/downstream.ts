import { type Config, SERVICE_NAMES, type ServiceName } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { type ServiceClient, createServiceClient } from './service-client.js';

export interface Downstream {
  client(name: ServiceName): ServiceClient;
  /** Breaker, bulkhead and retry-budget state of every service, for /readyz and the dashboard. */
  states(): Record<ServiceName, ReturnType<ServiceClient['state']>>;
  /** Closes every connection pool, letting calls in flight finish. */
  close(): Promise<void>;
}

/** One `ServiceClient` per downstream service, each with its own pool, breaker, bulkhead and budget. */
export function createDownstream(options: {
  urls: Record<ServiceName, string>;
  config: Config['downstream'];
  logger: Logger;
}): Downstream {
  const clients = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      createServiceClient({ name, url: options.urls[name], config: options.config[name], logger: options.logger }),
    ]),
  ) as Record<ServiceName, ServiceClient>;

  return {
    client: (name) => clients[name],
    states: () =>
      Object.fromEntries(SERVICE_NAMES.map((name) => [name, clients[name].state()])) as Record<
        ServiceName,
        ReturnType<ServiceClient['state']>
      >,
    close: async () => {
      await Promise.all(SERVICE_NAMES.map((name) => clients[name].close()));
    },
  };
}
