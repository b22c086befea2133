import { SERVICE_NAMES, type ServiceName } from '../../src/config/schema.js';
import type { Downstream } from '../../src/downstream/downstream.js';
import type { ServiceClient } from '../../src/downstream/service-client.js';
import { ACCOUNTS_ROUTES } from '../../src/sample-services/accounts.js';
import { CATALOG_ROUTES } from '../../src/sample-services/catalog.js';
import { HttpError } from '../../src/sample-services/http-kit.js';
import { INVENTORY_ROUTES } from '../../src/sample-services/inventory.js';
import { ORDERS_ROUTES } from '../../src/sample-services/orders.js';
import { createRouter, type Route } from '../../src/sample-services/router.js';
import { createTenantStore } from '../../src/sample-services/tenant-store.js';

const ROUTES: Record<ServiceName, readonly Route[]> = {
  accounts: ACCOUNTS_ROUTES,
  catalog: CATALOG_ROUTES,
  orders: ORDERS_ROUTES,
  inventory: INVENTORY_ROUTES,
};

/**
 * The sample services' data answered by function calls instead of HTTP: the same routes, the
 * same tenant store and records, no socket, no JSON, no latency. A gateway over it resolves the
 * schema from in-process data: the fastest any answer can be, the cache benchmark's baseline.
 */
export function createInProcessDownstream(): Downstream {
  const store = createTenantStore();
  const client = (name: ServiceName): ServiceClient => {
    const router = createRouter(ROUTES[name]);
    async function call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, tenantId: string): Promise<T> {
      const url = new URL(path, 'http://in-process');
      const match = router.match(method, url.pathname.split('/').slice(1));
      if (match.kind !== 'found') throw new Error(`in-process ${name}: no route ${method} ${url.pathname}`);
      try {
        const reply = await match.route.handle({ tenant: store.tenant(tenantId), params: match.params, query: url.searchParams, readJson: async () => body });
        return reply.body as T;
      } catch (error) {
        if (error instanceof HttpError) throw new Error(`in-process ${name}: ${error.status} ${error.message}`);
        throw error;
      }
    }
    return {
      name,
      get: (path, ctx) => call('GET', path, undefined, ctx.tenantId),
      send: (method, path, body, ctx) => call(method === 'PATCH' ? 'PATCH' : 'POST', path, body, ctx.tenantId),
      state: () => ({ breaker: 'closed', inFlight: 0, queued: 0, limit: Infinity, queuedByPriority: { critical: 0, normal: 0, batch: 0 }, retryTokens: 0 }),
      close: async () => {},
    };
  };
  const clients = Object.fromEntries(SERVICE_NAMES.map((name) => [name, client(name)])) as Record<ServiceName, ServiceClient>;
  return {
    client: (name) => clients[name],
    states: () => Object.fromEntries(SERVICE_NAMES.map((name) => [name, clients[name].state()])) as ReturnType<Downstream['states']>,
    close: async () => {},
  };
}
