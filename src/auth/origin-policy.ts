import type { Config } from '../config/schema.js';
import type { Principal } from './principal.js';

/** Where a request comes from, as far as a browser tells: its `Origin`, and whether that is the gateway's own. */
export interface RequestOrigin {
  /** The `Origin` header; absent for most non-browser clients. */
  origin: string | undefined;
  /** A page served by the gateway itself (GraphiQL, the dashboard). */
  sameOrigin: boolean;
}

export type OriginVerdict = { ok: true } | { ok: false; message: string };

const ALLOWED: OriginVerdict = { ok: true };

/**
 * Whether a verified key may be used from the request's origin. The browser sets `Origin` and page
 * script cannot change it, so this stops other sites' pages from using a key in their visitors'
 * browsers. It does not stop a program that sends any header it likes: publishable keys are
 * bounded for that by their role, root fields, trusted documents and per-address limit.
 *
 * - A publishable key needs an `Origin` among its own `allowedOrigins` (its pages only).
 * - A secret key (API key, service token) is accepted without an `Origin` (servers, scripts), from
 *   the gateway's own pages, and from the origins its tenant lists in `cors.allowedOrigins`.
 * - A platform-admin key only without an `Origin` or from the gateway's own pages.
 */
export function checkOrigin(config: Config, principal: Principal, request: RequestOrigin): OriginVerdict {
  const { origin } = request;
  if (principal.kind === 'apiKey' && principal.publishable) {
    const allowed = principal.publishable.allowedOrigins;
    if (origin === undefined) {
      return {
        ok: false,
        message: `Publishable key "${principal.clientId}" is for web pages and the request has no Origin header; it is accepted only from ${allowed.join(', ')}. Servers and scripts use a secret API key.`,
      };
    }
    if (allowed.includes(origin)) return ALLOWED;
    return {
      ok: false,
      message: `Publishable key "${principal.clientId}" is not allowed from origin ${origin}; it is accepted only from ${allowed.join(', ')} (publishableKeys[].allowedOrigins).`,
    };
  }
  if (origin === undefined || request.sameOrigin) return ALLOWED;
  if (principal.kind === 'platformAdmin') {
    return { ok: false, message: `Platform-admin keys are not accepted from another site's page (origin ${origin}).` };
  }
  const tenant = config.tenants[principal.tenantId];
  if (tenant?.cors.allowedOrigins.includes(origin)) return ALLOWED;
  const kind = principal.kind === 'service' ? 'Service token' : 'Secret API key';
  return {
    ok: false,
    message:
      `${kind} "${principal.clientId}" was sent from the browser origin ${origin}, which tenant "${principal.tenantId}" does not allow. ` +
      `A secret key must not be in a web page: use a publishable key there (publishableKeys[].allowedOrigins), ` +
      `or, for an internal tool, add the origin to tenants.${principal.tenantId}.cors.allowedOrigins.`,
  };
}

const originsByConfig = new WeakMap<Config, ReadonlySet<string>>();

/** Every origin some key may be used from: the only origins CORS answers (before any key is checked). */
export function corsOrigins(config: Config): ReadonlySet<string> {
  let origins = originsByConfig.get(config);
  if (!origins) {
    origins = new Set([...Object.values(config.tenants).flatMap((t) => t.cors.allowedOrigins), ...config.publishableKeys.flatMap((k) => k.allowedOrigins)]);
    originsByConfig.set(config, origins);
  }
  return origins;
}
