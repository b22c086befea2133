import type { CostBudget } from '../cost/pricing.js';
import type { GatewayError } from '../errors/gateway-error.js';

/**
 * After a limit decision: what the request was checked against and what came of it. The request
 * state's `decided` stage (graph/request-state.ts), set by the limit gate (limit-gate.ts), or for a
 * request refused before it, from the refusal.
 */
export interface LimitVerdict {
  /** The plan the request was charged to (after runtime overrides). */
  readonly planId: string;
  /** The cost budget after this request's charge, for `extensions.cost.limit`; null when no cost limit was checked. */
  readonly costBudget: CostBudget | null;
  /** Why the request was refused (`minute`, `cost`, ... the policy's dimension; `max-cost`; `unavailable`); null: admitted. */
  readonly throttled: string | null;
  /** Admitted but held in the plan's burst zone (graduated throttling) this long before it ran, ms; absent: not held. */
  readonly delayedMs?: number;
  /** Store clock (epoch ms) of the limit decision (the request record keeps it for replay); absent: no store decision. */
  readonly decidedAt?: number;
  /** Decided by this instance's local fallback (the shared store was away): replay cannot reproduce it. Absent: by the store. */
  readonly decidedLocally?: boolean;
  /** The deciding store call's number in the tenant's calls (store/call-sequence.ts); absent: no store call (a lease token). */
  readonly seq?: number;
  /** Admitted from a lease: the `seq` of the lease call that reserved it. */
  readonly leaseSeq?: number;
  /** Checked without its burst zones (this instance's cap on held requests). */
  readonly burstsDropped?: boolean;
}

/** The verdict a 429 (rate-limit-error.ts: `plan` and `dimension` in its extensions) stands for. */
export function refusedVerdict(refusal: GatewayError): LimitVerdict {
  return { planId: String(refusal.extensions.plan), costBudget: null, throttled: String(refusal.extensions.dimension) };
}
