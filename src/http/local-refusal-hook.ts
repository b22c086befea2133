import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import type { LocalRefusal, LocalRefusals } from '../limits/local-refusals.js';
import type { DoorStep } from './door-steps.js';
import { queryOf } from './document-bounds-hook.js';

/**
 * First `preHandler` of /graphql: a caller the limit store has just refused is answered 429 from
 * memory (limits/local-refusals.ts), before anything parses its operation, so a retry loop costs
 * the gateway a map lookup and a prebuilt answer per request instead of a GraphQL request.
 * Requests that may ask only for the free `usage` / `rateLimit` fields go on: a throttled tenant
 * can always see why.
 *
 * A caller that retries before its Retry-After gets this answer after half to all of `delayMs` (never later than
 * its refusal's end, at most `maxHeld` answers waiting at once): a client ignoring Retry-After in
 * a closed loop then sends a few requests per second per connection instead of thousands, and
 * its refusals stop competing with everyone else's requests for the event loop. Nothing is
 * admitted or refused differently; only the refusal arrives later.
 */
export function localRefusalHook(deps: {
  refusals: LocalRefusals;
  /** Told of each refusal answered here (metrics). */
  onRefused?: (principal: TenantPrincipal, refusal: LocalRefusal) => void;
  /** The request's root fields if its text is known (for metering), null when not. */
  knownRootFields?: (request: FastifyRequest) => readonly string[] | null;
  /** `limits.decisionHeader`: say who decided; here `remembered` (a store refusal, replayed). */
  decisionHeader: () => boolean;
  /** `limits.localRefusalDelayMs`. */
  delayMs: () => number;
  /** Answers held back at once, at most; past it they go out at once. Default 10,000. */
  maxHeld?: number;
}): DoorStep {
  const maxHeld = deps.maxHeld ?? 10_000;
  let held = 0;
  // Synchronous for a caller with no refusal remembered (the common case): a door step, no promise.
  return (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal) || principal.kind === 'service') return;
    const refusal = deps.refusals.find(principal, request.ip);
    if (!refusal || mayAskForUsage(request)) return;
    return answerRefusal(principal, refusal, request, reply);
  };

  async function answerRefusal(principal: TenantPrincipal, refusal: LocalRefusal, request: FastifyRequest, reply: FastifyReply) {
    deps.onRefused?.(principal, refusal);
    // Metered as a throttled request, like one the limit gate refused.
    const rootFields = deps.knownRootFields?.(request);
    request.gatewayState = {
      accepted: { principal, ip: request.ip, startedAt: Date.now() },
      ...(rootFields ? { operation: { name: null, rootFields: [...new Set(rootFields)] } } : {}),
      decided: { planId: refusal.planId, costBudget: null, throttled: refusal.dimension },
    };
    // Between half and all of the delay: held answers released together would bring a closed
    // loop's connections back together, a wave of requests every delay.
    const delay = Math.min(deps.delayMs() * (0.5 + Math.random() / 2), refusal.remainingMs);
    if (delay > 0 && held < maxHeld) {
      held++;
      await new Promise((resolve) => setTimeout(resolve, delay));
      held--;
    }
    reply.headers(refusal.headers);
    if (deps.decisionHeader()) reply.header('x-ratelimit-decision', `remembered;t=${refusal.storeNow}`);
    return reply.code(429).type('application/json; charset=utf-8').send(refusal.body);
  }
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
