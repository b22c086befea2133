import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from './error-body.js';

/** Media types of what Vite writes for our pages (the dashboard and the IDE). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite names built assets (under `assets/`) by content hash: they never change. */
  immutable: boolean;
}

export interface BuildOptions {
  /** The build's folder (`dashboard/dist/`). */
  dir: string;
  /** Content-Security-Policy of every file. */
  csp: string;
  /** Where it is served and what it is called, for 404 messages: `/dashboard`, `dashboard`. */
  mount: string;
  label: string;
  /** The 404 message while the build is missing: says how to make it. */
  notBuilt: string;
  /** Extra response headers of every file. */
  headers?: Record<string, string>;
  /** What `GET {mount}` (no slash) answers: a 301 to `{mount}/`, or the page itself. */
  bare: 'redirect' | 'page';
}

/** Answers with one file of the build (`index.html`, `assets/index-abc123.js`), or 404. */
export type SendBuildFile = (reply: FastifyReply, path: string) => Promise<FastifyReply>;

/**
 * Serves one of our built front ends at `mount`: `GET {mount}` (see `bare`), `GET {mount}/` (the
 * page) and `GET {mount}/*` (its files), from memory (createBuildServer). Returns the sender, for
 * a route elsewhere that answers with the page (the IDE at GET /graphql).
 */
export function registerBuild(app: FastifyInstance, options: BuildOptions): SendBuildFile {
  const send = createBuildServer(options);
  const { mount } = options;
  app.get(mount, async (_request, reply) => (options.bare === 'redirect' ? reply.redirect(`${mount}/`, 301) : send(reply, 'index.html')));
  app.get(`${mount}/`, async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>(`${mount}/*`, async (request, reply) => send(reply, request.params['*']));
  return send;
}

/**
 * One of our built front ends, read into memory on first use (a handful of files) and served by
 * name from that map: no path from the URL is ever joined onto the file system, so no traversal,
 * and no @fastify/static (which streams from disk per request and brings send/mime/glob) for a
 * few files. Until the build exists, every file answers 404 saying how to make it.
 */
function createBuildServer(options: BuildOptions): SendBuildFile {
  let files: Map<string, StaticFile> | null = null;
  const load = async (): Promise<Map<string, StaticFile> | null> => {
    if (files) return files;
    const found = await readBuild(options.dir);
    if (found.has('index.html')) files = found;
    return files;
  };

  return async function send(reply, path) {
    const build = await load();
    if (!build) return sendError(reply, 'NOT_FOUND', options.notBuilt);
    const file = build.get(path);
    if (!file) return sendError(reply, 'NOT_FOUND', `No ${options.label} file ${options.mount}/${path}`);
    reply
      .header('content-security-policy', options.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      // The page itself is revalidated; hashed assets are kept.
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    for (const [name, value] of Object.entries(options.headers ?? {})) reply.header(name, value);
    return reply.type(file.type).send(file.body);
  };
}

/** Every file of the build, by its path relative to `dir` (`assets/index-abc123.js`). */
async function readBuild(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const name = relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/');
    files.set(name, {
      body: await readFile(join(entry.parentPath, entry.name)),
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      immutable: name.startsWith('assets/'),
    });
  }
  return files;
}
