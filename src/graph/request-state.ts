import type { Principal } from '../auth/principal.js';
import type { PricedOperation } from '../cost/pricing.js';
import type { DownstreamWaits } from '../downstream/waits.js';
import type { EarlyCheck } from '../limits/early-check.js';
import type { LimitVerdict } from '../limits/limit-verdict.js';

/**
 * What the gateway knows of one GraphQL request, stage by stage, in the order the request path
 * (http/pipeline.ts) learns it. Each stage is one object, set once by the step that establishes
 * it and not changed after: a reader of `state.decided` knows every field in it exists, and an
 * absent stage says how far the request got.
 *
 * The stages' types live with the rooms that produce them (cost/pricing.ts, limits/limit-verdict.ts)
 * and import nothing from here, so no import runs back from them to this file.
 */
export interface RequestState {
  /** After authentication: the request entered the GraphQL path. Always there. */
  readonly accepted: Accepted;
  /**
   * The operation asked for: once the operation policy admitted the operation Apollo resolved, or,
   * for a request refused at the door, what the door's memo of its text knew (root fields only).
   */
  operation?: OperationFacts;
  /** After pricing, before anything executes (every principal; absent when the operation was refused or did not resolve). */
  priced?: PricedOperation;
  /**
   * After a limit decision: the gate's on the priced operation, or the charge of a request
   * answered before it (refused at the door, failed to parse or validate). Absent for callers no
   * limit applies to (service tokens, platform admins) and for requests no decision was made for.
   */
  decided?: LimitVerdict;
  /** After execution, as the response is sent. */
  answered?: Answered;
}

/** Who is asking, from where, since when. */
export interface Accepted {
  readonly principal: Principal;
  /** Client address (from X-Forwarded-For only when `server.trustProxy` says so). */
  readonly ip: string;
  /** Epoch ms when the request was accepted (after authentication and the door): latency is measured from here. */
  readonly startedAt: number;
  /** The limit check sent at the door (limits/early-check.ts), for the limit decision to claim. */
  readonly earlyCheck?: EarlyCheck;
  /** How long the request's downstream calls waited, filled as they go (downstream/waits.ts); absent for a request that makes none. */
  readonly downstreamWaits?: DownstreamWaits;
}

export interface OperationFacts {
  /** The operation's name, null when anonymous or unknown. */
  readonly name: string | null;
  /** Root fields it selects (`Query.customers`), each once. */
  readonly rootFields: readonly string[];
}

export interface Answered {
  /** The field cost of the data returned; null in a dry run, for an unpriced request, or when it could not be computed. */
  readonly actualCost: number | null;
  /** The response carried errors. */
  readonly hadErrors: boolean;
  /** One of them was the gateway's or a downstream service's failure (usage/capture.ts FAULT_CODES). */
  readonly hadFault: boolean;
}
