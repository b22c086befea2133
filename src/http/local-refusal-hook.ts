import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import type { LocalRefusal, LocalRefusals } from '../limits/local-refusals.js';
import type { DoorStep } from './door-steps.js';
import { queryOf } from './document-bounds-hook.js';
import { refusalHeaders, refusedState, type LocalRefusalDoor, type RefusalHold } from './remembered-refusal.js';

/**
 * First `preHandler` of /graphql: a caller the limit store has just refused is answered 429 from
 * memory (limits/local-refusals.ts), before anything parses its operation, so a retry loop costs
 * the gateway a map lookup and a prebuilt answer per request instead of a GraphQL request.
 * Requests that may ask only for the free `usage` / `rateLimit` fields go on: a throttled tenant
 * can always see why. Most refusals from memory are answered earlier, by the front door
 * (front-door.ts, before Fastify reads the request); this hook answers the rest: browsers (an
 * Origin header), per-address refusals, and requests the front door handed on.
 */
export function localRefusalHook(deps: {
  refusals: LocalRefusals;
  /** Told of each refusal answered here (metrics). */
  onRefused?: (principal: TenantPrincipal, refusal: LocalRefusal, door: LocalRefusalDoor) => void;
  /** The request's root fields if its text is known (for metering), null when not. */
  knownRootFields?: (request: FastifyRequest) => readonly string[] | null;
  /** `limits.decisionHeader`: say who decided; here `remembered` (a store refusal, replayed). */
  decisionHeader: () => boolean;
  /** `limits.localRefusalDelayMs`. */
  delayMs: () => number;
  /** Holds answers back (shared with the front door). */
  hold: RefusalHold;
}): DoorStep {
  // Synchronous for a caller with no refusal remembered (the common case): a door step, no promise.
  return (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal) || principal.kind === 'service') return;
    const refusal = deps.refusals.find(principal, request.ip);
    if (!refusal || mayAskForUsage(queryOf(request))) return;
    deps.onRefused?.(principal, refusal, 'route');
    request.gatewayState = refusedState(principal, request.ip, refusal, deps.knownRootFields?.(request) ?? null);
    const answer = () => reply.code(429).headers(refusalHeaders(refusal, deps.decisionHeader())).send(refusal.body);
    const waiting = deps.hold.wait(deps.delayMs(), refusal);
    return waiting ? waiting.then(answer) : answer();
  };
}

/**
 * Whether a request with this query text could be a free usage operation: its text mentions
 * `usage` or `rateLimit` (every such operation does, as a field name), or it has no text (a
 * trusted document id, an APQ hash: resolved later). Cheap and conservative: it never refuses a
 * usage operation from memory.
 */
export function mayAskForUsage(query: string | null): boolean {
  return query === null || query.includes('usage') || query.includes('rateLimit');
}
