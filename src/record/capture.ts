import { hasTenant } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { RequestState } from '../graph/request-state.js';
import { keyPerIp } from '../limits/request-charge.js';
import type { Adjustment } from '../limits/store/types.js';
import type { LimitsView } from '../limits/windows.js';
import type { UsageEvent } from '../usage/event.js';
import type { OperationBook } from './operation-book.js';
import type { RequestRecorder } from './recorder.js';
import type { RequestRecord } from './request-record.js';
import type { SettleStamps } from './settle-stamps.js';

/**
 * The record of a metered request, or null when no limit decision saw it (service tokens,
 * platform admins, requests answered before any decision). The client address is kept only
 * when `perIpLimited` says a per-IP limit applied to the request: otherwise replay does not need it.
 */
export function requestRecordOf(event: UsageEvent, state: RequestState, perIpLimited: (state: RequestState) => boolean): RequestRecord | null {
  if (!state.decided) return null;
  return {
    at: event.at,
    tenantId: event.tenantId,
    clientId: event.clientId,
    ip: perIpLimited(state) ? state.accepted.ip : null,
    planId: event.planId,
    rootFields: event.rootFields,
    estimatedCost: event.requestedCost,
    actualCost: event.actualCost,
    responseBytes: event.responseBytes,
    throttledBy: event.throttledBy,
    ...(state.decided.decidedAt !== undefined ? { decidedAt: state.decided.decidedAt } : {}),
    ...(state.decided.decidedLocally ? { decidedLocally: true } : {}),
    ...(state.decided.seq !== undefined ? { seq: state.decided.seq } : {}),
    ...(state.decided.leaseSeq !== undefined ? { leaseSeq: state.decided.leaseSeq } : {}),
    ...(state.decided.burstsDropped ? { burstsDropped: true } : {}),
  };
}

/**
 * Whether a per-IP limit applied to the request: its plan (after runtime overrides) has
 * `perIpPerMinute`, or it came with a publishable key that has a per-IP limit of its own.
 */
export function perIpLimit(deps: { config: () => Config; limitsView: LimitsView }): (state: RequestState) => boolean {
  return (state) => {
    const principal = state.accepted.principal;
    if (!hasTenant(principal)) return false;
    if (keyPerIp(principal).keyPerIpPerMinute !== undefined) return true;
    return typeof deps.limitsView.effective(deps.config(), principal.tenantId).limits.perIpPerMinute === 'number';
  };
}

/**
 * `onMetered` that also records the request (after the request metrics). With `stamps` (a shared
 * limit store), the record waits for its settle to land, to note when (`settledAt`). The
 * operation book gives the record its operation's key (the request path told it what was priced).
 */
export function recordedRequests(
  next: (event: UsageEvent, state: RequestState, settle: readonly Adjustment[]) => void,
  recorder: RequestRecorder,
  perIpLimited: (state: RequestState) => boolean,
  stamps: SettleStamps | null,
  operations: OperationBook,
): (event: UsageEvent, state: RequestState, settle: readonly Adjustment[]) => void {
  return (event, state, settle) => {
    next(event, state, settle);
    const record = requestRecordOf(event, state, perIpLimited);
    if (!record) return;
    const operation = operations.keyOf(state, record.at);
    if (operation !== undefined) record.operation = operation;
    stamps?.expect(record, settle);
    recorder.record(record);
  };
}
