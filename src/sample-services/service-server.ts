import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin-routes.js';
import { HttpError, parseTarget, readJsonBody, sendError, sendJson } from './http-kit.js';
import { createKnobControl, type Knobs } from './knobs.js';
import { createRequestLog, type RecordedRequest } from './request-log.js';
import { createRouter, type Route } from './router.js';
import type { TenantStore } from './tenant-store.js';

export type SampleServiceName = 'accounts' | 'catalog' | 'orders' | 'inventory';

/** The in-process test API of one running service; `/_admin/*` offers the same over HTTP. */
export interface SampleService {
  readonly name: SampleServiceName;
  /** e.g. http://127.0.0.1:43121 (no trailing slash). */
  readonly url: string;
  setKnobs(knobs: Partial<Knobs>): void;
  resetKnobs(): void;
  /** Calls per route template, e.g. { "GET /products/:id": 1 }; admin routes not counted. */
  counters(): Record<string, number>;
  /** Also clears requests(). */
  resetCounters(): void;
  /** The last 1000 requests, oldest first. */
  requests(): RecordedRequest[];
}

export interface RunningService extends SampleService {
  /** Closes the server, including hanging requests and keep-alive sockets. */
  close(): Promise<void>;
}

export interface ServiceServerOptions {
  name: SampleServiceName;
  routes: readonly Route[];
  store: TenantStore;
  host: string;
  /** 0 picks a free port. */
  port: number;
}

/** Longest accepted x-tenant-id, in characters. */
const MAX_TENANT_ID_LENGTH = 200;

/** One service on its own `node:http` server: admin routes, fault knobs, tenancy, routing. */
export async function startServiceServer(options: ServiceServerOptions): Promise<RunningService> {
  const { name, store } = options;
  const router = createRouter(options.routes);
  const knobs = createKnobControl();
  const log = createRequestLog();
  // Wakers of requests waiting on latency or hang, so close() can release them at once.
  const parked = new Set<() => void>();

  /** Waits until `arm` calls wake, the client goes away or the server closes. */
  function park(res: ServerResponse, arm: (wake: () => void) => () => void): Promise<void> {
    return new Promise((resolve) => {
      let disarm = () => {};
      const wake = () => {
        disarm();
        parked.delete(wake);
        res.off('close', wake);
        resolve();
      };
      parked.add(wake);
      res.once('close', wake);
      disarm = arm(wake);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const { segments, query } = parseTarget(url);
    if (segments[0] === '_admin') {
      sendJson(res, await handleAdmin(req, segments.slice(1), { knobs, log, resetData: store.reset }));
      return;
    }

    const match = router.match(method, segments);
    const tenantId = headerValue(req, 'x-tenant-id');
    const route = match.kind === 'found' ? match.route.template : '(no route)';
    log.record(
      { method, route, url, tenantId, requestId: headerValue(req, 'x-request-id'), traceparent: headerValue(req, 'traceparent'), at },
      match.kind === 'found',
    );

    const latencyMs = knobs.latencyMs();
    if (latencyMs > 0) {
      await park(res, (wake) => {
        const timer = setTimeout(wake, latencyMs);
        return () => clearTimeout(timer);
      });
    }
    if (knobs.isHanging()) await park(res, (wake) => knobs.onHangCleared(wake));
    if (res.destroyed) return; // client gone or server closed while we waited

    const failure = knobs.takeFailure();
    if (failure) {
      const headers: Record<string, string> = failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
      throw new HttpError(failure.status, `injected failure: ${name} answers ${failure.status}`, headers);
    }

    if (match.kind === 'not-found') throw new HttpError(404, `no route ${method} ${url.split('?')[0]} on ${name}`);
    if (match.kind === 'method-not-allowed') {
      const allowed = match.allowed.join(', ');
      throw new HttpError(405, `method ${method} not allowed on ${url.split('?')[0]}; allowed: ${allowed}`, { allow: allowed });
    }
    if (tenantId === null) throw new HttpError(400, 'missing x-tenant-id header');
    if (tenantId.length > MAX_TENANT_ID_LENGTH) {
      throw new HttpError(400, `x-tenant-id must be at most ${MAX_TENANT_ID_LENGTH} characters, got ${tenantId.length}`);
    }

    const reply = await match.route.handle({
      tenant: store.tenant(tenantId),
      params: match.params,
      query,
      readJson: () => readJsonBody(req),
    });
    sendJson(res, reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(res, error);
      // A bug, not bad input: answer 500 rather than crash, and say where.
      console.error(`[sample-services/${name}] ${req.method} ${req.url}:`, error);
      sendError(res, new HttpError(500, 'internal error'));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    name,
    url: `http://${host}:${port}`,
    setKnobs: (partial) => knobs.set(partial),
    resetKnobs: () => knobs.reset(),
    counters: () => log.counters(),
    resetCounters: () => log.reset(),
    requests: () => log.requests(),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Destroy sockets first so released requests find their response gone and stay silent.
      server.closeAllConnections();
      for (const wake of [...parked]) wake();
      await closed;
    },
  };
}

/** A header's trimmed value, or null when absent or blank. */
function headerValue(req: IncomingMessage, header: string): string | null {
  const value = req.headers[header];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text ? text : null;
}
