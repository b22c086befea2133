import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant } from '../auth/principal.js';
import type { LocalRefusals } from '../limits/local-refusals.js';
import { sendGatewayError } from './error-body.js';
import { queryOf } from './document-bounds-hook.js';

/**
 * First `preHandler` of /graphql: a caller the limit store has just refused is answered 429 from
 * memory (limits/local-refusals.ts), before anything parses its operation, so a retry loop costs
 * the gateway a map lookup per request instead of a GraphQL request. Requests that may ask only
 * for the free `usage` / `rateLimit` fields go on: a throttled tenant can always see why.
 */
export function localRefusalHook(deps: { refusals: LocalRefusals; onRefused?: () => void }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal) || principal.kind === 'service') return;
    const refusal = deps.refusals.find(principal, request.ip);
    if (!refusal || mayAskForUsage(request)) return;
    deps.onRefused?.();
    // Metered as a throttled request, like one the limits plugin refused.
    request.gatewayState = { startedAt: Date.now(), throttled: String(refusal.error.extensions['dimension']) };
    reply.headers(refusal.headers);
    return sendGatewayError(reply, refusal.error);
  };
}

/**
 * Whether the request could be a free usage operation: its text mentions `usage` or `rateLimit`
 * (every such operation does, as a field name), or it has no text (a trusted document id, an APQ
 * hash: resolved later). Cheap and conservative: it never refuses a usage operation here.
 */
function mayAskForUsage(request: FastifyRequest): boolean {
  const query = queryOf(request);
  return query === null || query.includes('usage') || query.includes('rateLimit');
}
