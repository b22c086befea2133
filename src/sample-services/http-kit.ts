import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body read, in bytes (64 KiB): sample payloads are tiny. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Thrown by handlers to answer `{ error: message }` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What a handler answers; `body` undefined means no body (e.g. 204). */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function ok(body: unknown, status = 200): Reply {
  return { status, body };
}

/** `value`, or a 404 naming what was looked for. */
export function orNotFound<T>(value: T | null, what: string, id: string): T {
  if (value === null) throw new HttpError(404, `${what} not found: ${id}`);
  return value;
}

export function sendJson(res: ServerResponse, reply: Reply): void {
  // The client may have gone away (aborted, server closing): nothing left to answer.
  if (res.writableEnded || res.destroyed) return;
  if (reply.body === undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, { status: error.status, body: { error: error.message }, headers: error.headers });
}

/** Reads and parses a JSON body; a missing, oversized or malformed body is a 400/413 HttpError. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body must be JSON, got an empty body');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Splits a raw request target into decoded path segments and its query. */
export function parseTarget(rawUrl: string): { segments: string[]; query: URLSearchParams } {
  // Parsed by hand, not with `new URL`: a target like `//x` would otherwise become a host name.
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
  try {
    return { segments: path.split('/').slice(1).map(decodeURIComponent), query };
  } catch {
    throw new HttpError(400, `request path is not valid percent-encoding: ${path}`);
  }
}
