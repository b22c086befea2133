import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import { sendError } from './error-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook before the body is read; absent on unauthenticated routes. */
    principal?: Principal;
  }
}

const MESSAGES = {
  missing: 'Missing credentials: send "Authorization: Bearer <api key>".',
  malformed: 'Malformed Authorization header: expected "Bearer <api key>".',
  invalid: 'Invalid API key.',
} as const;

/**
 * `onRequest` hook for /graphql: runs before the body is parsed and before anything else, so an
 * unauthenticated caller costs no parsing, no GraphQL work and no downstream call. An IP with
 * too many failed attempts is refused before its key is even looked up.
 */
export function authenticateHook(authenticator: Authenticator, guard: AuthGuard) {
  const tooMany = (reply: FastifyReply, seconds: number) => {
    reply.header('retry-after', String(seconds));
    return sendError(reply, 'RATE_LIMITED', `Too many failed authentication attempts from this address. Retry in ${seconds} s.`, {
      dimension: 'auth-failures',
      retryAfterSeconds: seconds,
    });
  };

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const blocked = guard.retryAfterSeconds(request.ip);
    if (blocked !== null) return tooMany(reply, blocked);

    const result = authenticator.authenticate(request.headers.authorization);
    if (!result.ok) {
      const wait = await guard.recordFailure(request.ip);
      if (wait !== null) return tooMany(reply, wait);
      reply.header('www-authenticate', 'Bearer realm="graphql"');
      return sendError(reply, 'UNAUTHENTICATED', MESSAGES[result.reason]);
    }
    request.principal = result.principal;
  };
}
