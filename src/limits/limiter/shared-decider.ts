import type { ByteDraw, Dimension, LimitDecision, ShadowCheck } from '../store/types.js';
import type { DrawSettle } from './byte-reservation.js';
import type { CheckCall, Checked, LateReply } from './shared-path.js';

/** How the shared store decided a request, or that it could not. */
export type SharedOutcome =
  /** A token of this instance's lease on these very dimensions: no round trip. */
  | { kind: 'leased'; decision: LimitDecision }
  /** The store's answer to this request's own call (which may have brought a lease with it). */
  | { kind: 'checked'; decision: LimitDecision }
  /** The store failed (the breaker is open): decide locally. `late`: this request's call, which may still land. */
  | { kind: 'unreachable'; late: LateReply | null };

/**
 * The limiter's one question to the shared store while the breaker is closed: "decide these
 * dimensions". With leases (`leasing-decider.ts`) the answer may come from a token held here.
 */
export interface SharedDecider {
  /** With `shadow`: one check of its own, carrying the shadow group (never a lease token). */
  decide(dims: readonly Dimension[], shadow?: ShadowCheck): Promise<SharedOutcome>;
  /** Whether a lease on some dimensions of hash tag `tag` (a tenant) is live. */
  holds(tag: string): boolean;
  /** A response of `bytes` on the byte budget `key` (a check-only dimension's): it sizes later leases' reservations. */
  responded(key: string, bytes: number): void;
  /** A leased request's response bytes, settled against what it drew (`lease-book.ts` `settle`). */
  settle(draw: ByteDraw, bytes: number, at: number): DrawSettle;
  /** Ends every lease (the store failed): unused tokens refunded. */
  endAll(): void;
  /** Ends every lease and stops the timers (the instance closes). */
  close(): void;
}

/** Every request checked by its own call: a store that cannot lease, or leases switched off. */
export function createPlainDecider(check: CheckCall): SharedDecider {
  return {
    decide: async (dims, shadow) => outcomeOf(await check(dims, shadow)),
    holds: () => false,
    responded: () => {},
    settle: () => {
      throw new Error('no lease, so no byte draw to settle');
    },
    endAll: () => {},
    close: () => {},
  };
}

/** The outcome of a request's own call to the store. */
export function outcomeOf(answer: Checked<LimitDecision>): SharedOutcome {
  return answer.ok ? { kind: 'checked', decision: answer.decision } : { kind: 'unreachable', late: answer.late };
}
