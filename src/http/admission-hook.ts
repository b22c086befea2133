import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Admission, AdmissionOutcome } from '../admission/admission.js';
import { priorityOf } from '../admission/priority-class.js';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { DownstreamShare } from '../graph/context.js';
import type { Priority } from '../fairness/priority.js';
import { sendError } from './error-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Gives the request's admission back (its slot once admitted; its place while waiting): at its response, or when its client leaves. */
    leaveAdmission?: () => void;
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
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal)) return;
    const config = deps.config();
    const planId = deps.planOf(principal.tenantId);
    const plan = config.plans[planId]?.admission ?? { weight: 1, maxInFlight: 64 };
    const params = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | null;
    const operationName = typeof params?.operationName === 'string' ? params.operationName : null;
    const priority = priorityOf(config.admission.priorities, { clientId: principal.clientId, operationName, rootFields: deps.knownRootFields(request) });
    const { outcome, cancel } = deps.admission.enter({ tenantId: principal.tenantId, weight: plan.weight, tenantMaxInFlight: plan.maxInFlight, priority });
    request.leaveAdmission = cancel;
    const result = await outcome;
    deps.onOutcome?.({ principal, planId, priority, outcome: result });
    if (result.admitted) {
      request.leaveAdmission = result.release;
      request.downstreamShare = { weight: plan.weight, priority, plan: planId };
      if (result.waitedMs > 0) reply.header('server-timing', `admission;dur=${result.waitedMs}`);
      return;
    }
    request.leaveAdmission = undefined;
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
  };
}
