import type { Attributes } from '@opentelemetry/api';
import type { Principal } from '../auth/principal.js';
import type { RequestState } from '../graph/request-state.js';
import type { GateDecision } from '../limits/limit-gate.js';

/**
 * The gateway's own span attributes, beside the semantic conventions' (`http.*`, `graphql.*`,
 * `db.*`). One `gateway.` namespace, so a trace backend lists them together.
 */
export const ATTR = {
  tenant: 'gateway.tenant.id',
  /** The API key's id (config `apiKeys[].id`), not the key. */
  client: 'gateway.client.id',
  /** The plan the request was charged to (runtime overrides included), else the key's plan. */
  plan: 'gateway.plan.id',
  costEstimated: 'gateway.cost.estimated',
  costActual: 'gateway.cost.actual',
  /** `allowed`, `refused`, or `exempt` (service tokens, platform admins: no plan limit applies). */
  decision: 'gateway.limit.decision',
  /** The dimension that refused (`minute`, `cost`, `max-cost`, `unavailable`, ...), only when refused. */
  refusedBy: 'gateway.limit.refused_by',
  /** Who decided: `shared` (Redis), `local` (this instance's fallback). */
  source: 'gateway.limit.source',
  costRemaining: 'gateway.cost.remaining',
} as const;

/** Who is calling: on the server span, also for requests answered at the door. */
export function principalAttributes(principal: Principal | undefined): Attributes {
  if (!principal) return {};
  if (principal.kind === 'platformAdmin') return { [ATTR.client]: principal.clientId };
  return { [ATTR.tenant]: principal.tenantId, [ATTR.client]: principal.clientId, [ATTR.plan]: principal.planId };
}

/** What the request path established (graph/request-state.ts), for the GraphQL operation span as it ends. */
export function operationAttributes(state: RequestState): Attributes {
  const attributes = principalAttributes(state.accepted.principal);
  if (state.priced) attributes[ATTR.costEstimated] = state.priced.requested;
  if (state.answered?.actualCost != null) attributes[ATTR.costActual] = state.answered.actualCost;
  if (state.decided) {
    attributes[ATTR.plan] = state.decided.planId;
    attributes[ATTR.decision] = state.decided.throttled ? 'refused' : 'allowed';
    if (state.decided.throttled) attributes[ATTR.refusedBy] = state.decided.throttled;
  } else if (state.priced) {
    attributes[ATTR.decision] = 'exempt';
  }
  return attributes;
}

/** A limit decision's outcome, for its own span. */
export function decisionAttributes(decision: GateDecision | null): Attributes {
  if (!decision) return { [ATTR.decision]: 'exempt' };
  const { verdict } = decision;
  const attributes: Attributes = { [ATTR.plan]: verdict.planId, [ATTR.decision]: verdict.throttled ? 'refused' : 'allowed' };
  if (verdict.throttled) attributes[ATTR.refusedBy] = verdict.throttled;
  // Who decided: a store decision has a store time; without one (max-cost, no limit), nobody did.
  if (verdict.throttled === 'unavailable') attributes[ATTR.source] = 'unavailable';
  else if (verdict.decidedAt !== undefined) attributes[ATTR.source] = verdict.decidedLocally ? 'local' : 'shared';
  if (verdict.costBudget) attributes[ATTR.costRemaining] = verdict.costBudget.remaining;
  return attributes;
}
