import { ACCOUNTS_ROUTES } from './accounts.js';
import { CATALOG_ROUTES } from './catalog.js';
import { INVENTORY_ROUTES } from './inventory.js';
import { ORDERS_ROUTES } from './orders.js';
import type { Route } from './router.js';
import { startServiceServer, type RunningService, type SampleService, type SampleServiceName } from './service-server.js';
import { createTenantStore } from './tenant-store.js';

// The public API lives here; these types are defined next to the code that implements them.
export type { Knobs } from './knobs.js';
export type { RecordedRequest } from './request-log.js';
export type { SampleService, SampleServiceName } from './service-server.js';

export interface SampleServices {
  readonly urls: Record<SampleServiceName, string>;
  readonly services: Record<SampleServiceName, SampleService>;
  /** Knobs, counters and written data (placed orders, customer updates) back to the seeded state. */
  resetAll(): void;
  /** Closes all servers, including hanging requests and keep-alive sockets. */
  close(): Promise<void>;
}

export interface StartSampleServicesOptions {
  /** Interface to listen on (default '127.0.0.1'). */
  host?: string;
  /** Port per service (default 0: a free port each). */
  ports?: Partial<Record<SampleServiceName, number>>;
}

const ROUTES: Record<SampleServiceName, readonly Route[]> = {
  accounts: ACCOUNTS_ROUTES,
  catalog: CATALOG_ROUTES,
  orders: ORDERS_ROUTES,
  inventory: INVENTORY_ROUTES,
};

export const SAMPLE_SERVICE_NAMES = Object.keys(ROUTES) as SampleServiceName[];

/** Starts the four sample REST services, each on its own port, sharing one tenant store. */
export async function startSampleServices(options: StartSampleServicesOptions = {}): Promise<SampleServices> {
  const host = options.host ?? '127.0.0.1';
  const store = createTenantStore();
  const started = await Promise.allSettled(
    SAMPLE_SERVICE_NAMES.map((name) => startServiceServer({ name, routes: ROUTES[name], store, host, port: options.ports?.[name] ?? 0 })),
  );
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    // One port was taken: do not leave the others listening.
    await Promise.all(running.map((service) => service.close()));
    throw failure.reason;
  }

  const byName = Object.fromEntries(running.map((service) => [service.name, service])) as Record<SampleServiceName, RunningService>;
  return {
    urls: Object.fromEntries(running.map((service) => [service.name, service.url])) as Record<SampleServiceName, string>,
    services: byName,
    resetAll() {
      for (const service of running) {
        service.resetKnobs();
        service.resetCounters();
      }
      store.reset();
    },
    async close() {
      await Promise.all(running.map((service) => service.close()));
    },
  };
}
