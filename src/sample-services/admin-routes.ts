import { HttpError, readJsonBody, type Reply } from './http-kit.js';
import { parseKnobs, type KnobControl } from './knobs.js';
import type { RequestLog } from './request-log.js';
import type { IncomingMessage } from 'node:http';

/** What the admin routes act on: one service's knobs and log, and the shared data. */
export interface AdminDeps {
  knobs: KnobControl;
  log: RequestLog;
  resetData(): void;
}

type AdminHandler = (req: IncomingMessage, deps: AdminDeps) => Reply | Promise<Reply>;

/**
 * `/_admin/*`: the HTTP face of the in-process test API, for the standalone mode and other
 * processes. These are never delayed, failed or counted, so a test can always reach them.
 */
const ADMIN_ROUTE_TABLE: Record<string, Partial<Record<string, AdminHandler>>> = {
  counters: { GET: (_req, { log }) => ({ status: 200, body: log.counters() }) },
  requests: { GET: (_req, { log }) => ({ status: 200, body: log.requests() }) },
  knobs: {
    GET: (_req, { knobs }) => ({ status: 200, body: knobs.current() }),
    POST: async (req, { knobs }) => {
      const body = await readJsonBody(req);
      try {
        knobs.set(parseKnobs(body));
      } catch (error) {
        throw new HttpError(400, (error as Error).message);
      }
      return { status: 204 };
    },
  },
  reset: {
    POST: (_req, { knobs, log, resetData }) => {
      knobs.reset();
      log.reset();
      resetData();
      return { status: 204 };
    },
  },
};
// A Map, so a path like `/_admin/constructor` cannot reach Object.prototype.
const ADMIN_ROUTES = new Map(Object.entries(ADMIN_ROUTE_TABLE));

/** `segments` is the path after `/_admin`. */
export function handleAdmin(req: IncomingMessage, segments: readonly string[], deps: AdminDeps): Reply | Promise<Reply> {
  const name = segments.length === 1 ? segments[0] : undefined;
  const methods = name === undefined ? undefined : ADMIN_ROUTES.get(name);
  if (!methods) throw new HttpError(404, `no admin route ${req.url ?? ''}`);
  const handler = Object.hasOwn(methods, req.method ?? '') ? methods[req.method ?? ''] : undefined;
  if (!handler) {
    const allowed = Object.keys(methods).join(', ');
    throw new HttpError(405, `method ${req.method ?? ''} not allowed on /_admin/${name}; allowed: ${allowed}`, { allow: allowed });
  }
  return handler(req, deps);
}
