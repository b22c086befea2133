import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { registerBuild } from './static-build.js';

/** Where `npm run build:dashboard` (dashboard/vite.config.ts) writes the built pages. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

/**
 * The dashboard's pages are scripts and styles from this origin only, no inline script or style
 * element, data only from this origin's /graphql; nothing may frame them.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `GET /dashboard/` and its assets (see static-build.ts: served from memory, never from a path
 * built from the URL). `GET /` and `GET /dashboard` redirect here.
 */
export function registerDashboard(app: FastifyInstance, options: { dir?: string } = {}): void {
  app.get('/', async (_request, reply) => reply.redirect('/dashboard/', 302));
  registerBuild(app, {
    dir: options.dir ?? DASHBOARD_DIST,
    csp: DASHBOARD_CSP,
    mount: '/dashboard',
    label: 'dashboard',
    notBuilt: 'The dashboard is not built: run `npm run build:dashboard`.',
    headers: { 'cross-origin-opener-policy': 'same-origin' },
    bare: 'redirect',
  });
}
