import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { ErrorCode } from '../errors/codes.js';
import type { FailedRequests } from '../limits/failed-requests.js';
import { refusedVerdict } from '../limits/limit-verdict.js';
import { sendError, sendGatewayError } from './error-body.js';

/** Answers a request refused at the door with `code`, or 429 when counting it puts the caller over its limits. */
export type RefuseAtDoor = (
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extensions?: Record<string, unknown>,
) => Promise<FastifyReply>;

/**
 * A request refused at the door (past the document bounds, not a trusted document) is a request
 * all the same: it is counted against the caller's request limits (limits/failed-requests.ts)
 * before it is answered, so a key over its limits gets 429 whatever it sends.
 */
export function countedRefusal(deps: { failedRequests: FailedRequests; config: () => Config }): RefuseAtDoor {
  return async (request, reply, code, message, extensions = {}) => {
    const principal = request.principal;
    if (principal && hasTenant(principal) && principal.kind !== 'service') {
      const { refusal, headers } = await deps.failedRequests.charge(deps.config(), principal, request.ip);
      reply.headers(headers);
      if (refusal) {
        // Metered as a throttled request, like one the limit gate refused.
        request.gatewayState = { accepted: { principal, ip: request.ip, startedAt: Date.now() }, decided: refusedVerdict(refusal) };
        return sendGatewayError(reply, refusal);
      }
    }
    return sendError(reply, code, message, extensions);
  };
}
