import type { Reply } from './http-kit.js';
import type { TenantData } from './tenant-store.js';

/** What a handler gets: the caller's tenant, path parameters, query and a lazy body reader. */
export interface RouteContext {
  tenant: TenantData;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  readJson(): Promise<unknown>;
}

/** One endpoint; `template` (e.g. `/customers/:id`) is also its key in the counters. */
export interface Route {
  method: 'GET' | 'POST' | 'PATCH';
  template: string;
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/** A linear router: each service has a handful of routes, so a scan beats anything cleverer. */
export function createRouter(routes: readonly Route[]) {
  const compiled = routes.map((route) => ({ route, parts: route.template.split('/').slice(1) }));

  return {
    match(method: string, segments: readonly string[]): RouteMatch {
      const allowed: string[] = [];
      for (const { route, parts } of compiled) {
        const params = matchParts(parts, segments);
        if (!params) continue;
        if (route.method === method) return { kind: 'found', route, params };
        allowed.push(route.method);
      }
      return allowed.length ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
    },
  };
}

export type Router = ReturnType<typeof createRouter>;

function matchParts(parts: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const segment = segments[i] as string;
    if (part.startsWith(':')) {
      if (segment === '') return null;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

/** A path parameter the route template declares (so it is always there once matched). */
export function pathParam(ctx: RouteContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
}
