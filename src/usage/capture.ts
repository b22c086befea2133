import type { GraphQLResponse } from '@apollo/server';
import type { RequestState } from '../graph/request-state.js';
import type { UsageEvent } from './event.js';
import type { Meter } from './meter.js';

/** Error codes that are the gateway's or a downstream service's failure, not the client's: they count against an SLA. */
export const FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR', 'DOWNSTREAM_UNAVAILABLE', 'DOWNSTREAM_TIMEOUT']);

/**
 * Whether the response about to be sent carries errors, and whether one is a fault (for the
 * metered status). The rest of a usage event is already in the request state (cost, root fields,
 * the limit verdict) or known only once the response is sent (bytes, latency): see `usageEventOf`.
 */
export function responseErrors(response: GraphQLResponse): { hadErrors: boolean; hadFault: boolean } {
  if (response.body.kind !== 'single') return { hadErrors: false, hadFault: false };
  const errors = response.body.singleResult.errors ?? [];
  return { hadErrors: errors.length > 0, hadFault: errors.some((e) => FAULT_CODES.has(String(e.extensions?.code))) };
}

/**
 * The usage event of one finished GraphQL request, or null for callers without a tenant
 * (platform admins; unauthenticated requests never get this far). Throttled and refused requests
 * are metered too, with the reason.
 */
export function usageEventOf(
  state: RequestState,
  planId: (tenantId: string) => string,
  response: { bytes: number; statusCode: number; cacheHits?: number; cacheMisses?: number },
  now: number = Date.now(),
): UsageEvent | null {
  const { principal, startedAt } = state.accepted;
  if (principal.kind === 'platformAdmin') return null;
  const throttled = state.decided?.throttled ?? null;
  const hadErrors = state.answered?.hadErrors ?? false;
  const status = throttled ? 'throttled' : hadErrors || response.statusCode >= 400 ? 'error' : 'ok';
  return {
    at: startedAt,
    tenantId: principal.tenantId,
    clientId: principal.clientId,
    // The limit decision already resolved the plan; requests it did not check (service tokens,
    // invalid operations) resolve it here.
    planId: state.decided?.planId ?? planId(principal.tenantId),
    principalKind: principal.kind,
    operationName: state.operation?.name ?? null,
    rootFields: [...(state.operation?.rootFields ?? [])],
    status,
    fault: status === 'error' && (state.answered?.hadFault === true || response.statusCode >= 500),
    throttledBy: throttled,
    latencyMs: now - startedAt,
    requestedCost: state.priced?.requested ?? 0,
    actualCost: state.answered?.actualCost ?? 0,
    responseBytes: response.bytes,
    cacheHits: response.cacheHits ?? 0,
    cacheMisses: response.cacheMisses ?? 0,
  };
}

/**
 * Metering, once the response to a GraphQL request is sent (off the response path): its usage
 * event into the meter's in-process aggregate (flushed in the background). Returns the event, for
 * the request metrics; null when there is none (a platform admin).
 */
export function requestMetering(deps: {
  meter: Meter;
  planOf: (tenantId: string) => string;
  /** The request's field-cache hits and misses, null when it touched no cached field. */
  cacheReport: (state: RequestState) => { hits: number; misses: number } | null;
}): (state: RequestState, response: { bytes: number; statusCode: number }) => UsageEvent | null {
  return (state, response) => {
    const cache = deps.cacheReport(state);
    // Fields named rather than spread: an object spread is V8's slow path, on every request.
    const event = usageEventOf(state, deps.planOf, {
      bytes: response.bytes,
      statusCode: response.statusCode,
      cacheHits: cache?.hits ?? 0,
      cacheMisses: cache?.misses ?? 0,
    });
    if (event) deps.meter.record(event);
    return event;
  };
}
