import type { GraphQLResponse } from '@apollo/server';
import type { FragmentDefinitionNode, OperationDefinitionNode } from 'graphql';
import { hasTenant, type Principal, type TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { CostBudget, PricedOperation } from '../cost/pricing.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { LimitDimension } from './dimensions.js';
import type { EarlyCheck, EarlyChecks, KnownOperation } from './early-check.js';
import type { FailedCharge, FailedRequests } from './failed-requests.js';
import { isUsageOnly, rateLimitDryRun } from './free-operations.js';
import { rateLimitHeaders } from './headers.js';
import type { LimitObserver } from './limit-observer.js';
import { refusedVerdict, type LimitVerdict } from './limit-verdict.js';
import type { DecisionSource, Limiter, LimiterOutcome } from './limiter.js';
import type { LocalRefusals } from './local-refusals.js';
import type { OverridesStore } from './overrides.js';
import { costLimitExceededError, limitsUnavailableError, rateLimitedError } from './rate-limit-error.js';
import { requestCharge, requestOnlyCharge } from './request-charge.js';
import { NO_SHADOWS, type ShadowRequestCharge, type ShadowSide } from './shadow-side.js';
import type { Adjustment, LimitDecision, ShadowVerdict } from './store/types.js';
import type { createThrottleLog } from './throttle-log.js';

/** A limit decision as a result: the verdict, and the 429 that answers the request when it refused. */
export interface GateDecision {
  verdict: LimitVerdict;
  refusal: GatewayError | null;
}

/** A request answered before its limit decision, as charged: the charge's headers and 429, and its verdict for the request state. */
export type FailedAnswer = FailedCharge & { verdict: LimitVerdict };

/** What the limit decision needs of a request whose operation was admitted and priced. */
export interface DecisionInput {
  config: Config;
  principal: Principal;
  ip: string;
  earlyCheck: EarlyCheck | undefined;
  priced: PricedOperation;
  /** The operation as Apollo resolved it (`name` null when anonymous), with its fragments and root fields (one entry per response key). */
  resolved: KnownOperation & { name: string | null; fragments: Record<string, FragmentDefinitionNode> };
  /** The request's text and variables: what the door may check early next time. */
  request: { query: string | undefined; operationName: string | undefined; variables: Record<string, unknown> };
  /** Where the rate-limit headers go (the response's). */
  setHeader(name: string, value: string): void;
  /** Runs `operation` (with the document's fragments) instead of what was resolved: `rateLimit(dryRun: true)`. */
  narrow(operation: OperationDefinitionNode): void;
  /** The request's identity for `settle` (its state): the charge is kept under it until the response is out. */
  key: object;
}

/** What was charged for a request, kept until the response is out so it can be settled. */
interface Charge {
  dims: LimitDimension[];
  decision: LimitDecision;
  source: DecisionSource;
  chargedCost: number;
  /** The shadow group the check carried, and its verdict: settled on the shadow's counters when it admitted. */
  shadow: { charge: ShadowRequestCharge; verdict: ShadowVerdict } | null;
}

export interface LimitGateDeps {
  limiter: Limiter;
  overrides: OverridesStore;
  throttleLog: ReturnType<typeof createThrottleLog>;
  observers?: LimitObserver[];
  /** Checks sent at the door for operations seen before (early-check.ts); none: every check here. */
  earlyChecks?: EarlyChecks;
  /** Refusals remembered to answer the caller's next requests at the door (local-refusals.ts). */
  refusals: LocalRefusals;
  /** Counts requests that never reach the limit decision (a parse or validation failure, a refused operation). */
  failedRequests: FailedRequests;
  /** Shadow limits evaluated in the same check (src/shadow/); none: `NO_SHADOWS`. */
  shadows?: ShadowSide;
}

/**
 * Where an admitted request's charge waits for its settle: on the request's own key (its state),
 * under a symbol only this module knows, rather than in a WeakMap, whose entry per request cost
 * more than the rest of the decision's bookkeeping in CPU profiles.
 */
const CHARGE = Symbol('limit charge');
type ChargeHolder = { [CHARGE]?: Charge | undefined };

/** Callers plan limits apply to: tenants' keys, not service tokens nor platform admins. */
function charged(principal: Principal): principal is TenantPrincipal {
  return hasTenant(principal) && principal.kind !== 'service';
}

/** Says that no rate-limit policy applies to this response's caller, and why. */
export const EXEMPT_HEADER = 'x-ratelimit-exempt';

/**
 * Plan limits, as the steps of the request path (http/pipeline.ts) that run them:
 * - `decide`, in the operation gate (after validation, the operation policy and pricing, before
 *   any resolver): the single-operation cost maximum, then every dimension of the caller's plan in
 *   one limiter call, and the rate-limit headers. Over a limit is a result: the verdict and the 429
 *   that the gate throws, so nothing executes.
 * - `chargeFailed`, for a request answered before that decision (it failed to parse or validate,
 *   names no operation, or may not run it): counted as one request all the same.
 * - `settle`, after the response is sent: refunds the difference between estimated and actual
 *   cost and adds the response bytes, in one store call.
 * - `headersFor`, for an authenticated response no decision gave headers to.
 *
 * Service tokens bypass every limit (no store call at all, so Redis being down cannot refuse
 * them); platform-admin keys have no tenant and so no plan limits. Operations that only ask for
 * `usage` / `rateLimit` are free and answer while the tenant is throttled, under their own cap.
 */
export function createLimitGate(deps: LimitGateDeps) {
  const observers = deps.observers ?? [];
  const shadows = deps.shadows ?? NO_SHADOWS;

  /** The limit decision for an admitted, priced operation; null for callers no limit applies to. */
  async function decide(input: DecisionInput): Promise<GateDecision | null> {
    const { config, principal, ip, priced, resolved, request } = input;
    if (!charged(principal)) return null;
    let pricedOnly = false;
    const reduced = rateLimitDryRun(resolved.operation, request.variables);
    if (reduced) {
      // Only the rateLimit selections run; the rest is priced, not executed nor charged. (A cost
      // dry run would stop execution altogether: the gate answers those with the price.)
      pricedOnly = true;
      input.narrow(reduced);
    }
    const docs = config.limits.documentationUrl;
    const chargeInput = {
      config,
      principal,
      runtime: deps.overrides.get(principal.tenantId),
      ip,
      rootFields: resolved.rootFields,
      usageOnly: isUsageOnly(resolved.rootFields),
      pricedOnly: priced.dryRun || pricedOnly,
      estimate: priced.requested,
      now: Date.now(),
    };
    const charge = requestCharge(chargeInput);
    const { effective, chargedCost, dims, stores } = charge;
    let decided: LimiterOutcome | undefined;
    const verdict = (throttled: string | null, costBudget: CostBudget | null = null) => verdictOf(effective.planId, costBudget, throttled, decided);
    if (charge.overMaximum) return { verdict: verdict('max-cost'), refusal: costLimitExceededError(charge.overMaximum, effective, docs) };
    if (dims.length === 0) {
      // Said here, where the plan is already worked out: the server's fallback for responses
      // without a decision would work it out again (http/server.ts).
      input.setHeader(EXEMPT_HEADER, NO_LIMITS_EXEMPT[EXEMPT_HEADER]!);
      return { verdict: verdict(null), refusal: null };
    }
    // The tenant's shadow limits, if any, ride on the same check (never on an early one: released).
    const shadow = chargeInput.usageOnly ? null : shadows.charge(chargeInput, effective);
    const early = shadow ? releaseEarly(deps, input) : claimEarly(deps, input, dims);
    const started = early?.startedAt ?? performance.now();
    const outcome = await (early?.outcome ?? deps.limiter.consume(stores, effective.onStoreFailure, shadow?.check));
    const { decision, source } = outcome;
    if (shadow && decision.shadow) shadow.decided(decision.shadow, effective.planId);
    for (const observe of observers) {
      observe({ principal, planId: effective.planId, dims, decision, source, durationMs: performance.now() - started });
    }
    decided = outcome;
    if (source === 'unavailable') return { verdict: verdict('unavailable'), refusal: limitsUnavailableError(effective, 1, docs) };

    const headers = rateLimitHeaders(dims, decision.results, decision.now);
    for (const name in headers) input.setHeader(name, headers[name]!);
    if (config.limits.decisionHeader) {
      // For operators and the exactness tests: who decided (Redis or this instance's fallback)
      // and when, on the store clock.
      input.setHeader('x-ratelimit-decision', `${source};t=${decision.now}`);
    }
    const costBudget = costBudgetOf(dims, decision);
    if (!decision.allowed) {
      const refused = decision.results.findIndex((r) => !r.allowed);
      const dimension = dims[refused]!;
      deps.refusals.remember({ principal, ip, plan: effective, documentationUrl: docs, dims, decision, source });
      recordThrottle(deps.throttleLog, principal, effective.planId, ip, resolved.name, dimension);
      const refusal = rateLimitedError({
        planName: effective.planName,
        planId: effective.planId,
        dimension,
        result: decision.results[refused]!,
        documentationUrl: docs,
      });
      return { verdict: verdict(dimension.kind, costBudget), refusal };
    }
    (input.key as ChargeHolder)[CHARGE] = {
      dims,
      decision,
      source,
      chargedCost,
      // Not a conditional spread: every admitted request keeps one, and a spread is V8's slow path.
      shadow: shadow && decision.shadow ? { charge: shadow, verdict: decision.shadow } : null,
    };
    const delayedMs = decision.heldMs ?? 0;
    if (delayedMs === 0) return { verdict: verdict(null, costBudget), refusal: null };
    // Held in the burst zone: it runs when its slot comes (charged there), not before.
    await hold(delayedMs, input.setHeader);
    return { verdict: { ...verdict(null, costBudget), delayedMs }, refusal: null };
  }

  /**
   * Counts a request answered before its limit decision against the caller's request limits;
   * null for callers no limit applies to. Its verdict goes into the request state; `answerFailed`
   * puts its headers (and its 429) on the response.
   */
  async function chargeFailed(config: Config, principal: Principal, ip: string): Promise<FailedAnswer | null> {
    if (!charged(principal)) return null;
    const failed = await deps.failedRequests.charge(config, principal, ip);
    return { ...failed, verdict: failed.refusal ? refusedVerdict(failed.refusal) : { planId: failed.planId, costBudget: null, throttled: null } };
  }

  /**
   * After the response is sent: refund unused cost, add response bytes. One store call at most.
   * Returns the adjustments sent (the request record notes when the store applied them).
   */
  function settle(key: object, actualCost: number | null, responseBytes: number): readonly Adjustment[] {
    const holder = key as ChargeHolder;
    const charge = holder[CHARGE];
    if (!charge) return NO_SETTLE;
    holder[CHARGE] = undefined;
    // A request served from a lease with a byte reservation settles its bytes against its draw.
    const adjustments = settleAdjustments(charge, actualCost, responseBytes);
    void deps.limiter.adjust(adjustments, charge.source, charge.decision.draw);
    return adjustments;
  }

  /** Rate-limit headers for an authenticated response no decision gave headers to (see headersOfPolicies). */
  const headersFor = (config: Config, principal: Principal, ip: string) => headersOfPolicies(deps, config, principal, ip);

  return { decide, chargeFailed, settle, headersFor };
}

export type LimitGate = ReturnType<typeof createLimitGate>;

/**
 * A failed request's charge on its response: the rate-limit headers after it, and over the
 * caller's limits its 429 in place of what the failure would have answered (status and headers
 * from the error's `extensions.http`, as Apollo would have set them).
 */
export function answerFailed(response: GraphQLResponse, failed: FailedCharge): void {
  for (const name in failed.headers) response.http.headers.set(name, failed.headers[name]!);
  const error = failed.refusal;
  if (!error) return;
  const { http, ...extensions } = error.extensions as { http?: { status?: number; headers?: Map<string, string> } } & Record<string, unknown>;
  response.body = { kind: 'single', singleResult: { errors: [{ message: error.message, extensions }] } };
  if (http?.status) response.http.status = http.status;
  for (const [name, value] of http?.headers ?? []) response.http.headers.set(name, value);
}

/**
 * A held request waits for its slot: `delayedMs` from its decision (the store placed its charge
 * that long after its clock's now, and the reply came after that now, so it never runs early).
 * The wait is told to the client as a `Server-Timing` entry (and `extensions.throttle`).
 */
async function hold(delayedMs: number, setHeader: (name: string, value: string) => void): Promise<void> {
  setHeader('server-timing', `throttle;dur=${delayedMs};desc="held in the plan's burst zone"`);
  await sleepAtLeast(delayedMs);
}

/**
 * Resolves no sooner than `ms` from now. A timer alone may fire up to a millisecond or so early:
 * Node measures it from the event loop's cached time, which lags while a turn runs.
 */
export async function sleepAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    await new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}

/**
 * A verdict, with the store clock of its decision once there is one, and for a shared decision the
 * store call (its number, or the lease it came from) and whether burst zones were dropped: the
 * request record keeps them for replay.
 */
function verdictOf(planId: string, costBudget: CostBudget | null, throttled: string | null, decided: LimiterOutcome | undefined): LimitVerdict {
  if (!decided) return { planId, costBudget, throttled };
  const { decision } = decided;
  const decidedAt = decision.now;
  if (decided.source === 'local') return { planId, costBudget, throttled, decidedAt, decidedLocally: true };
  // Field by field, not conditional spreads: every leased request comes through here, and a spread is V8's slow path.
  const verdict: Mutable<LimitVerdict> = { planId, costBudget, throttled, decidedAt };
  if (decision.seq !== undefined) verdict.seq = decision.seq;
  if (decision.leaseSeq !== undefined) verdict.leaseSeq = decision.leaseSeq;
  if (decided.burstsDropped) verdict.burstsDropped = true;
  return verdict;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Shared, never changed: no settle. */
const NO_SETTLE: readonly Adjustment[] = Object.freeze([]);

/** A settled charge's adjustments: the unused cost refunded where it was charged, the response bytes added now. */
function settleAdjustments(charge: Charge, actualCost: number | null, responseBytes: number): Adjustment[] {
  const adjustments: Adjustment[] = [];
  if (charge.shadow) adjustments.push(...charge.shadow.charge.settle(charge.shadow.verdict, charge.decision.now, actualCost, responseBytes));
  for (const dim of charge.dims) {
    if (dim.store.kind !== 'sliding') continue;
    if (dim.kind === 'cost') {
      if (actualCost !== null && Math.ceil(actualCost) < charge.chargedCost) {
        adjustments.push({ dimension: dim.store, at: charge.decision.chargedAt ?? charge.decision.now, delta: Math.ceil(actualCost) - charge.chargedCost });
      }
    } else if (dim.kind === 'bandwidth' && responseBytes > 0) {
      adjustments.push({ dimension: dim.store, at: charge.decision.now, delta: responseBytes });
    }
  }
  return adjustments;
}

/**
 * The check sent at the door for this request, if it was made on these very dimensions; otherwise
 * the door learns the operation for its next requests (not while this instance holds a lease for
 * the tenant: the door sends nothing then, and keying the text costs a copy and a hash of it on
 * every request).
 */
function claimEarly(deps: LimitGateDeps, input: DecisionInput, dims: readonly LimitDimension[]): ReturnType<EarlyChecks['claim']> {
  const early = deps.earlyChecks?.claim(input.earlyCheck, dims) ?? null;
  const { request, resolved, principal } = input;
  if (!early && typeof request.query === 'string' && deps.earlyChecks && hasTenant(principal) && !deps.limiter.holdsLease(principal.tenantId)) {
    deps.earlyChecks.remember(request.query, request.operationName, {
      document: resolved.document,
      operation: resolved.operation,
      rootFields: resolved.rootFields,
    });
  }
  return early;
}

/** A check carrying a shadow is made here, never at the door: a check sent there is refunded. */
function releaseEarly(deps: LimitGateDeps, input: DecisionInput): null {
  deps.earlyChecks?.release(input.earlyCheck);
  return null;
}

/** A refusal in the throttle log (the console's "who is throttled now"). */
function recordThrottle(
  throttleLog: ReturnType<typeof createThrottleLog>,
  principal: TenantPrincipal,
  planId: string,
  ip: string,
  operation: string | null,
  dimension: LimitDimension,
): void {
  throttleLog.record({
    tenantId: principal.tenantId,
    plan: planId,
    clientId: principal.clientId,
    ip,
    operation,
    dimension: dimension.kind,
    policy: dimension.policy,
  });
}

/**
 * Rate-limit headers for an authenticated response no decision gave headers to (a parse or
 * validation error, COST_LIMIT_EXCEEDED, a body refused before GraphQL): the caller's request
 * policies as they stand, from one store peek that consumes nothing. Principals that no policy
 * applies to get `X-RateLimit-Exempt` saying why (`service-token`, `platform-admin`, `no-limits`).
 */
function headersOfPolicies(
  deps: { limiter: Limiter; overrides: OverridesStore },
  config: Config,
  principal: Principal,
  ip: string,
): Record<string, string> | Promise<Record<string, string>> {
  // Exempt callers are answered at once, without a promise: it runs on every one of their responses.
  if (principal.kind === 'service') return SERVICE_TOKEN_EXEMPT;
  if (!hasTenant(principal)) return PLATFORM_ADMIN_EXEMPT;
  const { dims } = requestOnlyCharge({ config, principal, runtime: deps.overrides.get(principal.tenantId), ip });
  if (dims.length === 0) return NO_LIMITS_EXEMPT;
  return deps.limiter.peek(dims.map((d) => d.store)).then(({ decision }) => rateLimitHeaders(dims, decision.results, decision.now));
}

const SERVICE_TOKEN_EXEMPT: Readonly<Record<string, string>> = Object.freeze({ [EXEMPT_HEADER]: 'service-token' });
const PLATFORM_ADMIN_EXEMPT: Readonly<Record<string, string>> = Object.freeze({ [EXEMPT_HEADER]: 'platform-admin' });
const NO_LIMITS_EXEMPT: Readonly<Record<string, string>> = Object.freeze({ [EXEMPT_HEADER]: 'no-limits' });

/** The last ISO time written: requests served from one lease share their reset time. */
let lastIso = { at: Number.NaN, iso: '' };
function isoTime(at: number): string {
  if (at !== lastIso.at) lastIso = { at, iso: new Date(at).toISOString() };
  return lastIso.iso;
}

/** The cost-points dimension's standing, for `usage` and the verdict; null when the plan has none. */
function costBudgetOf(dims: readonly LimitDimension[], decision: LimitDecision): CostBudget | null {
  const costResult = decision.results[costDimensionIndex(dims)];
  return costResult ? { limit: costResult.limit, remaining: costResult.remaining, resetAt: isoTime(costResult.resetAt), window: '1 minute' } : null;
}

/** Where the cost-points dimension is among `dims`, -1 if none (a loop: this runs on every request). */
function costDimensionIndex(dims: readonly LimitDimension[]): number {
  for (let i = 0; i < dims.length; i++) if (dims[i]!.kind === 'cost') return i;
  return -1;
}
