import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkOrigin } from '../auth/origin-policy.js';
import type { Config } from '../config/schema.js';
import { requestOrigin } from './cors.js';
import type { DoorStep } from './door-steps.js';
import { sendError } from './error-body.js';

/**
 * `onRequest` hook after `authenticateHook`: refuses a verified key used from an origin it may
 * not be used from (see auth/origin-policy.ts) with 403 ORIGIN_NOT_ALLOWED, before the body is
 * read and before any limit is charged. The refusal carries CORS headers when the origin is one
 * CORS answers, so the page's script can read why.
 */
export function originHook(getConfig: () => Config): DoorStep {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal) return;
    const verdict = checkOrigin(getConfig(), principal, requestOrigin(request));
    if (verdict.ok) return;
    // Nothing was charged: no rate-limit headers for a request that never reached the limits.
    request.principal = undefined;
    return sendError(reply, 'ORIGIN_NOT_ALLOWED', verdict.message, { origin: request.headers.origin ?? null });
  };
}
