import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RefuseAtDoor } from './counted-refusal.js';
import type { DoorStep } from './door-steps.js';

/** The headers Apollo's CSRF prevention accepts as proof of a preflighted request (its defaults). */
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'] as const;
/** Content types a browser sends cross-site without a CORS preflight (the Fetch standard's "simple" ones). */
const SIMPLE_TYPES: ReadonlySet<string> = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** The usual header values, already reduced: every request pays this check, and clients send one of a few. */
const KNOWN_TYPES: ReadonlyMap<string, string> = new Map([
  ['application/json', 'application/json'],
  ['application/json; charset=utf-8', 'application/json'],
  ['application/json;charset=utf-8', 'application/json'],
]);

/** What the check reads of a request: Fastify's or Node's (the front door's). */
type RequestHead = { method?: string | undefined; headers: IncomingHttpHeaders };

/** `application/json; charset=utf-8` -> `application/json`; '' when absent. */
function mediaType(request: RequestHead): string {
  const header = request.headers['content-type'];
  if (header === undefined) return '';
  return KNOWN_TYPES.get(header) ?? header.split(';')[0]!.trim().toLowerCase();
}

const EXAMPLE_POST = `-H 'content-type: application/json' -d '{"query":"{ viewer { clientId } }"}'`;

/** Why the request cannot be served as sent, in the words a developer needs to fix it; null: fine. */
export function transportProblem(request: RequestHead): { code: 'UNSUPPORTED_MEDIA_TYPE' | 'PREFLIGHT_REQUIRED'; message: string } | null {
  const type = mediaType(request);
  if (request.method === 'POST') {
    if (type === 'application/json' || type.endsWith('+json')) return null;
    const sent = type === '' ? 'No content type' : `Unsupported content type "${type}"`;
    return { code: 'UNSUPPORTED_MEDIA_TYPE', message: `${sent}: send the operation as JSON with content-type: application/json (curl: ${EXAMPLE_POST}).` };
  }
  if (request.method !== 'GET') return null;
  if (PREFLIGHT_HEADERS.some((name) => String(request.headers[name] ?? '').trim() !== '')) return null;
  // A non-simple content type cannot be sent cross-site without a preflight either (Apollo's rule).
  if (type !== '' && !SIMPLE_TYPES.has(type)) return null;
  return {
    code: 'PREFLIGHT_REQUIRED',
    message:
      'A GET to /graphql needs the header apollo-require-preflight: true: a page on another site cannot send it without a CORS preflight, ' +
      "which keeps such pages from running operations with a visitor's credentials. " +
      `From curl: curl -G <url>/graphql -H 'apollo-require-preflight: true' --data-urlencode 'query={ viewer { clientId } }'; or POST the operation: ${EXAMPLE_POST}.`,
  };
}

/**
 * `onRequest` hook of /graphql, after authentication and before the body is read: a POST that
 * is not JSON gets 415 UNSUPPORTED_MEDIA_TYPE (Fastify would parse text/plain and hand Apollo a
 * string, which Apollo refuses with its CSRF message), and a GET without a preflight header gets
 * 400 PREFLIGHT_REQUIRED, the same protection as Apollo's CSRF prevention with a message that
 * says what to send. Counted like any request refused at the door.
 */
export function transportHook(refuse: RefuseAtDoor): DoorStep {
  // Synchronous when the request is fine (a door step: no promise per request).
  return (request: FastifyRequest, reply: FastifyReply) => {
    const problem = transportProblem(request);
    if (problem) return refuse(request, reply, problem.code, problem.message);
  };
}
