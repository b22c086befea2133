import type { ApolloServerPlugin } from '@apollo/server';
import type { Principal } from '../auth/principal.js';
import type { GatewayContext, RequestState } from '../graph/context.js';
import type { UsageEvent } from './event.js';

/** Error codes that are the gateway's or a downstream service's failure, not the client's: they count against an SLA. */
export const FAULT_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR', 'DOWNSTREAM_UNAVAILABLE', 'DOWNSTREAM_TIMEOUT']);

/**
 * Notes in the request state whether the response carried errors (for the metered status). The
 * rest of a usage event is already in the state (cost, root fields, throttling reason) or known
 * only once the response is sent (bytes, latency): see `usageEventOf`.
 */
export function usageCapturePlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const errors = response.body.singleResult.errors ?? [];
          contextValue.state.hadErrors = errors.length > 0;
          contextValue.state.hadFault = errors.some((e) => FAULT_CODES.has(String(e.extensions?.code)));
        },
      };
    },
  };
}

/**
 * The usage event of one finished GraphQL request, or null for callers without a tenant
 * (platform admins; unauthenticated requests never get this far). Throttled and refused requests
 * are metered too, with the reason.
 */
export function usageEventOf(
  state: RequestState,
  principal: Principal | undefined,
  planId: (tenantId: string) => string,
  response: { bytes: number; statusCode: number; cacheHits?: number; cacheMisses?: number },
  now: number = Date.now(),
): UsageEvent | null {
  if (!principal || principal.kind === 'platformAdmin') return null;
  const status = state.throttled ? 'throttled' : state.hadErrors || response.statusCode >= 400 ? 'error' : 'ok';
  return {
    at: state.startedAt,
    tenantId: principal.tenantId,
    clientId: principal.clientId,
    // The limits plugin already resolved the plan; requests it did not check (service tokens,
    // invalid operations) resolve it here.
    planId: state.planId ?? planId(principal.tenantId),
    principalKind: principal.kind,
    operationName: state.operationName ?? null,
    rootFields: state.rootFields ?? [],
    status,
    fault: status === 'error' && (state.hadFault === true || response.statusCode >= 500),
    throttledBy: state.throttled ?? null,
    latencyMs: now - state.startedAt,
    requestedCost: state.cost?.requested ?? 0,
    actualCost: state.cost?.actual ?? 0,
    responseBytes: response.bytes,
    cacheHits: response.cacheHits ?? 0,
    cacheMisses: response.cacheMisses ?? 0,
  };
}
