import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Negotiator from 'negotiator';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './error-body.js';

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

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
}

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
  const dir = options.dir ?? IDE_DIST;
  let files: Map<string, StaticFile> | null = null;
  const load = async () => {
    if (!files) {
      const found = await readBuild(dir);
      if (found.has('index.html')) files = found;
    }
    return files;
  };

  const send = async (reply: FastifyReply, path: string) => {
    const build = await load();
    if (!build) return sendError(reply, 'NOT_FOUND', 'The GraphQL IDE is not built: run `npm run build:ide` (npm start does).');
    const file = build.get(path);
    if (!file) return sendError(reply, 'NOT_FOUND', `No IDE file /graphiql/${path}`);
    return reply
      .header('content-security-policy', IDE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      // Built assets are named by content hash: they never change. The page itself is revalidated.
      .header('cache-control', path === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable')
      .header('vary', 'accept')
      .type(file.type)
      .send(file.body);
  };

  app.get('/graphiql', async (_request, reply) => send(reply, 'index.html'));
  app.get('/graphiql/', async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/graphiql/*', async (request, reply) => send(reply, request.params['*']));

  /** `onRequest` hook for /graphql: a browser asking for HTML gets the IDE instead of a 401. */
  return async function ideHook(request: FastifyRequest, reply: FastifyReply) {
    if (prefersHtml(request)) return send(reply, 'index.html');
  };
}

/** Every file of the build, by its path relative to `dir` (`assets/index-abc123.js`). */
async function readBuild(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = full.slice(dir.length).replace(/^\/+/, '').split('\\').join('/');
    files.set(path, { body: await readFile(full), type: TYPES[extname(entry.name)] ?? 'application/octet-stream' });
  }
  return files;
}
