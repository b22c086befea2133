import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from './error-body.js';

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

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite names built assets by content hash: they never change, so browsers may keep them. */
  immutable: boolean;
}

/**
 * `GET /dashboard/` and its assets, read into memory once (the build is a handful of small
 * files, ~100 KB), so a request can only ever get one of the files the build wrote: no path
 * is joined from the URL, so no traversal. A small handler instead of @fastify/static, which
 * would stream from disk per request and bring send/mime/glob dependencies for five files.
 * `GET /` redirects here. Until the build exists the routes answer 404 saying how to build it.
 */
export function registerDashboard(app: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? DASHBOARD_DIST;
  let files: Map<string, StaticFile> | null = null;
  const load = async (): Promise<Map<string, StaticFile> | null> => {
    if (files) return files;
    const found = await readBuild(dir);
    if (found.has('index.html')) files = found;
    return files;
  };

  const send = async (reply: FastifyReply, path: string) => {
    const build = await load();
    if (!build) return sendError(reply, 'NOT_FOUND', 'The dashboard is not built: run `npm run build:dashboard`.');
    const file = build.get(path);
    if (!file) return sendError(reply, 'NOT_FOUND', `No dashboard file /dashboard/${path}`);
    return reply
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(file.type)
      .send(file.body);
  };

  app.get('/', async (_request, reply) => reply.redirect('/dashboard/', 302));
  app.get('/dashboard', async (_request, reply) => reply.redirect('/dashboard/', 301));
  app.get('/dashboard/', async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/dashboard/*', async (request, reply) => send(reply, request.params['*']));
}

async function readBuild(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch {
    return files;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      continue; // a directory
    }
    const name = relative(dir, path).split('\\').join('/');
    files.set(name, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: name.startsWith('assets/') });
  }
  return files;
}
