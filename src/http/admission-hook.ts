import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Admission, AdmissionOutcome, AdmissionRequest } from '../admission/admission.js';
import { priorityOf } from '../admission/priority-class.js';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { DownstreamShare } from '../graph/context.js';
import type { Priority } from '../fairness/priority.js';
import { sendError } from './error-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's admission, given back by `release()` (its slot once admitted; its place while
     * waiting) at its response, or once its operation is done when its client left (pipeline.ts
     * `clientGone`); a place in the queue is given back as soon as the client leaves. An object with a method rather than a
     * function: an admission made at once is itself the handle, no closure per request.
     */
    heldAdmission?: { release(): void };
    /** Its share of downstream slots, as admitted: its calls queue at the services with the same weight and class. */
    downstreamShare?: DownstreamShare;
  }
}

/** What became of a request at admission, for metrics. */
export interface AdmissionEvent {
  principal: TenantPrincipal;
  planId: string;
  priority: Priority;
  outcome: AdmissionOutcome;
}

/** A plan's admission settings (config `plans.<id>.admission`). */
type PlanAdmission = { weight: number; maxInFlight: number };
/** For a plan the config no longer has (a runtime override naming a removed plan). */
const DEFAULT_PLAN_ADMISSION: PlanAdmission = { weight: 1, maxInFlight: 64 };

/**
 * `preHandler` of /graphql after the cheap refusals and before anything runs the operation: the
 * request waits for its turn (src/admission/admission.ts), at once when the instance has room.
 * Its class comes from `admission.priorities` (its key, its operation name, and its root fields
 * when the door has seen its text). Platform-admin requests (the console, with no tenant) are not
 * queued: operators must be able to look while tenants are shed.
 */
export function admissionHook(deps: {
  admission: Admission;
  config: () => Config;
  /** The plan a tenant is on now (runtime overrides included). */
  planOf: (tenantId: string) => string;
  knownRootFields: (request: FastifyRequest) => readonly string[] | null;
  onOutcome?: (event: AdmissionEvent) => void;
}) {
  // A door step (http/door-steps.ts): synchronous for a request admitted at once, nearly all of
  // them, so no promise or microtask; a promise only for one that waits for its turn.
  return (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal)) return;
    const config = deps.config();
    const planId = deps.planOf(principal.tenantId);
    const plan = config.plans[planId]?.admission ?? DEFAULT_PLAN_ADMISSION;
    const params = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | null;
    const operationName = typeof params?.operationName === 'string' ? params.operationName : null;
    const priority = priorityOf(config.admission.priorities, { clientId: principal.clientId, operationName, rootFields: deps.knownRootFields(request) });
    const asked: AdmissionRequest = { tenantId: principal.tenantId, weight: plan.weight, tenantMaxInFlight: plan.maxInFlight, priority };
    const now = deps.admission.admitAtOnce(asked);
    if (now) return settled(deps, request, reply, { principal, planId, priority, outcome: now }, config, plan);
    const { outcome, cancel } = deps.admission.enter(asked);
    request.heldAdmission = { release: cancel };
    // A client that leaves while its request waits gives its place back at once: it never runs.
    // (Once admitted, `cancel` does nothing: a slot is given back when the operation is done.)
    reply.raw.once('close', cancel);
    return outcome.then((result) => settled(deps, request, reply, { principal, planId, priority, outcome: result }, config, plan));
  };
}

/** Lets an admitted request on (with its downstream share), or answers one that was not admitted. */
function settled(
  deps: { onOutcome?: (event: AdmissionEvent) => void },
  request: FastifyRequest,
  reply: FastifyReply,
  event: AdmissionEvent,
  config: Config,
  plan: PlanAdmission,
) {
  const { principal, planId, priority, outcome: result } = event;
  deps.onOutcome?.(event);
  if (result.admitted) {
    request.heldAdmission = result;
    request.downstreamShare = { weight: plan.weight, priority, plan: planId };
    if (result.waitedMs > 0) reply.header('server-timing', `admission;dur=${result.waitedMs}`);
    return;
  }
  request.heldAdmission = undefined;
  reply.header('retry-after', String(result.retryAfterSeconds));
  request.gatewayState = {
    accepted: { principal, ip: request.ip, startedAt: Date.now() },
    decided: { planId, costBudget: null, throttled: result.overOwnShare ? 'concurrency' : 'overloaded' },
  };
  if (result.overOwnShare) {
    return sendError(
      reply,
      'RATE_LIMITED',
      `Too many requests at once: the ${config.plans[planId]?.displayName ?? planId} plan runs at most ${plan.maxInFlight} of a tenant's requests at a time on each gateway instance, and more are already waiting. Retry in ${result.retryAfterSeconds} s, or send fewer requests in parallel.`,
      { plan: planId, dimension: 'concurrency', policy: 'tenant-in-flight', limit: plan.maxInFlight, retryAfterSeconds: result.retryAfterSeconds },
    );
  }
  return sendError(
    reply,
    'OVERLOADED',
    `This gateway instance is saturated and could not run the request in time (${result.reason}). Retry in ${result.retryAfterSeconds} s.`,
    {
      reason: result.reason,
      priority,
      retryAfterSeconds: result.retryAfterSeconds,
    },
  );
}
