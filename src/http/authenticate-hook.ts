import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { AuthGuard } from '../limits/auth-guard.js';
import type { DoorStep } from './door-steps.js';
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
 * `onRequest` hook for /graphql and /usage.csv: runs before the body is parsed and before anything
 * else, so an unauthenticated caller costs no parsing, no GraphQL work and no downstream call.
 * A valid credential is always admitted (the failed-authentication limit never refuses one);
 * a failed attempt is counted per IP, and past the limit answered 429 instead of 401. Both
 * answers carry the `auth-failures` policy's rate-limit headers.
 */
export function authenticateHook(authenticator: Authenticator, guard: AuthGuard): DoorStep {
  // Synchronous for a valid credential (the common case): a door step, not a promise per request.
  return (request: FastifyRequest, reply: FastifyReply) => {
    const result = authenticator.authenticate(request.headers.authorization);
    if (result.ok) {
      request.principal = result.principal;
      return;
    }
    return refuseFailedAttempt(guard, request, reply, result.reason);
  };
}

/** A failed attempt: counted per address; 401, or 429 past the auth-failures limit. */
async function refuseFailedAttempt(guard: AuthGuard, request: FastifyRequest, reply: FastifyReply, reason: keyof typeof MESSAGES) {
  const verdict = await guard.recordFailure(request.ip);
  reply.headers(verdict.headers);
  if (verdict.retryAfterSeconds !== null) {
    const seconds = verdict.retryAfterSeconds;
    reply.header('retry-after', String(seconds));
    // The same answer whatever the token was: a blocked address learns nothing about keys.
    return sendError(reply, 'RATE_LIMITED', `Too many failed authentication attempts from this address. Retry in ${seconds} s.`, {
      dimension: 'auth-failures',
      retryAfterSeconds: seconds,
    });
  }
  reply.header('www-authenticate', 'Bearer realm="graphql"');
  return sendError(reply, 'UNAUTHENTICATED', MESSAGES[reason]);
}
