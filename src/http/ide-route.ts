import { fileURLToPath } from 'node:url';
import Negotiator from 'negotiator';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerBuild } from './static-build.js';

/** Where `npm run build:ide` (ide/vite.config.ts) writes GraphiQL's build. */
export const IDE_DIST = fileURLToPath(new URL('../../ide/dist/', import.meta.url));

/**
 * GraphiQL runs bundled scripts and workers from this origin only and talks only to this origin's
 * /graphql. Styles may be inline: Monaco and GraphiQL set them at run time. Nothing may frame it.
 */
export const IDE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The media types /graphql answers, HTML last: a browser's navigation prefers it, API clients never do. */
const MEDIA = ['application/json', 'application/graphql-response+json', 'text/html'];

/** A GET whose Accept prefers HTML over JSON: a browser opening /graphql (the same test Apollo's landing page uses). */
export function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return request.method === 'GET' && !!accept && new Negotiator({ headers: { accept } }).mediaType(MEDIA) === 'text/html';
}

/**
 * GraphiQL at `GET /graphiql` and, for browsers (`Accept: text/html`), at `GET /graphql` itself
 * (`ideHook`, the first `onRequest` hook of /graphql, so before authentication: the page holds
 * no data, the key goes in its headers editor). The build's files are read into memory once and
 * served by name from that map, so no path from the URL ever reaches the file system. Until the
 * build exists, the routes say how to make it.
 */
export function registerIde(app: FastifyInstance, options: { dir?: string } = {}) {
  const send = registerBuild(app, {
    dir: options.dir ?? IDE_DIST,
    csp: IDE_CSP,
    mount: '/graphiql',
    label: 'IDE',
    notBuilt: 'The GraphQL IDE is not built: run `npm run build:ide` (npm start does).',
    // /graphql answers HTML or JSON by Accept: caches must keep them apart.
    headers: { vary: 'accept' },
    bare: 'page',
  });

  /** `onRequest` hook for /graphql: a browser asking for HTML gets the IDE instead of a 401. */
  return function ideHook(request: FastifyRequest, reply: FastifyReply) {
    if (prefersHtml(request)) return send(reply, 'index.html');
    return undefined;
  };
}
