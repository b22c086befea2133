import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
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
 * unauthenticated caller costs no parsing, no GraphQL work and no downstream call.
 */
export function authenticateHook(authenticator: Authenticator) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = authenticator.authenticate(request.headers.authorization);
    if (!result.ok) {
      reply.header('www-authenticate', 'Bearer realm="graphql"');
      return sendError(reply, 'UNAUTHENTICATED', MESSAGES[result.reason]);
    }
    request.principal = result.principal;
  };
}
