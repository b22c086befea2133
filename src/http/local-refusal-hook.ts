import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import { refusedVerdict } from '../limits/limit-verdict.js';
import type { LocalRefusal, LocalRefusals } from '../limits/local-refusals.js';
import { sendGatewayError } from './error-body.js';
import { queryOf } from './document-bounds-hook.js';

/**
 * First `preHandler` of /graphql: a caller the limit store has just refused is answered 429 from
 * memory (limits/local-refusals.ts), before anything parses its operation, so a retry loop costs
 * the gateway a map lookup per request instead of a GraphQL request. Requests that may ask only
 * for the free `usage` / `rateLimit` fields go on: a throttled tenant can always see why.
 */
export function localRefusalHook(deps: {
  refusals: LocalRefusals;
  /** Told of each refusal answered here (metrics). */
  onRefused?: (principal: TenantPrincipal, refusal: LocalRefusal) => void;
  /** The request's root fields if its text is known (for metering), null when not. */
  knownRootFields?: (request: FastifyRequest) => readonly string[] | null;
  /** `limits.decisionHeader`: say who decided; here `remembered` (a store refusal, replayed). */
  decisionHeader: () => boolean;
}) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal) || principal.kind === 'service') return;
    const refusal = deps.refusals.find(principal, request.ip);
    if (!refusal || mayAskForUsage(request)) return;
    deps.onRefused?.(principal, refusal);
    // Metered as a throttled request, like one the limit gate refused.
    const rootFields = deps.knownRootFields?.(request);
    request.gatewayState = {
      accepted: { principal, ip: request.ip, startedAt: Date.now() },
      ...(rootFields ? { operation: { name: null, rootFields: [...new Set(rootFields)] } } : {}),
      decided: refusedVerdict(refusal.error),
    };
    reply.headers(refusal.headers);
    if (deps.decisionHeader()) reply.header('x-ratelimit-decision', `remembered;t=${refusal.storeNow}`);
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
