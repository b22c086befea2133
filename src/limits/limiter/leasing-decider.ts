import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Adjustment, Dimension, LimitDecision } from '../store/types.js';
import { withoutBurst } from './hold-cap.js';
import { createLeaseBook, leaseKeyOf, leaseRequestOf, type LeaseOutcome } from './lease-book.js';
import { createLeaseDemand } from './lease-demand.js';
import type { LeaseTrail } from './lease-trail.js';
import { createResponseSizes } from './response-sizes.js';
import { outcomeOf, type SharedDecider, type SharedOutcome } from './shared-decider.js';
import type { CheckCall, Checked, LeaseCall } from './shared-path.js';

/**
 * How often ended leases are looked for: a lease nobody uses again is refunded at most this long
 * after its lifetime (plus SETTLE_CARRY_MS for the refund to be carried or sent).
 */
const LEASE_SWEEP_MS = 50;

/**
 * The lease protocol, in one place (ALGORITHM.md, "Leases"). To decide a request's dimensions:
 *
 * 1. not leasable (`leaseKeyOf` null): one plain check;
 * 2. a token of the key's lease: no round trip (and, once half of it is used, a renewal asked for
 *    in the background: a lease call with no request of its own);
 * 3. a lease call for the key is out: wait for it, then take one of its tokens;
 * 4. otherwise one call, asking for as many tokens as the key's recent demand (0: a plain check).
 *
 * One lease call at a time per key: requests of the key arriving meanwhile wait for it and use its
 * tokens (under load most requests of a busy tenant then share a round trip instead of each
 * making one). The book (`lease-book.ts`) holds the leases, `lease-demand.ts` sizes them.
 */
export function createLeasingDecider(deps: {
  config: Config['limits']['leases'];
  check: CheckCall;
  lease: LeaseCall;
  /** Whether the store's breaker is closed (a lease answered while it opened ends at once). */
  storeUp: () => boolean;
  /** Unused tokens, given back as a settle of the lease's charge. */
  refund: (adjustments: Adjustment[]) => void;
  onTokens?: (outcome: LeaseOutcome, tokens: number) => void;
  /** Told of the leases granted and their adjustments (the request record). */
  trail?: LeaseTrail;
  logger: Logger;
}): SharedDecider {
  const { config, storeUp } = deps;
  const book = createLeaseBook(config, {
    refund: deps.refund,
    ...(deps.onTokens ? { onTokens: deps.onTokens } : {}),
    ...(deps.trail ? { trail: deps.trail } : {}),
  });
  const demand = createLeaseDemand(config);
  const sizes = createResponseSizes(config);
  /** Keys with a lease call in flight, and when it is answered (or failed). */
  const asking = new Map<string, Promise<void>>();
  let closed = false;
  const leaseSweep = setInterval(() => book.sweep(), LEASE_SWEEP_MS);
  leaseSweep.unref();
  const demandSweep = setInterval(() => {
    demand.forget();
    sizes.forget();
  }, config.lifetimeMs);
  demandSweep.unref();

  const want = (key: string): number => (asking.has(key) ? 0 : demand.want(key));

  /** One lease call for the key; requests arriving meanwhile wait for its answer (or failure). */
  async function ask(key: string, dims: readonly Dimension[], tokens: number, bytes: number, renewal: boolean): Promise<Checked<LimitDecision>> {
    let done = (): void => {};
    asking.set(key, new Promise<void>((resolve) => (done = resolve)));
    const sentAt = performance.now();
    // A renewal has the dimensions of the lease in use now (the record names it).
    const renews = renewal ? book.inUse(key) : null;
    try {
      // A renewal has no request of its own to hold: its own amount becomes a token, usable at
      // once, so it must fit now (burst zones dropped: it is refused rather than held ahead).
      const answer = await deps.lease(renewal ? dims.map(withoutBurst) : dims, leaseRequestOf(config, dims, tokens, bytes));
      return answer.ok ? { ok: true, decision: book.granted(key, dims, answer.decision, sentAt, renewal, bytes, renews) } : answer;
    } finally {
      // After this request has its decision: the waiting ones take the next tokens.
      asking.delete(key);
      done();
    }
  }

  /**
   * A lease call of its own, off any request's path, while the key's lease is half used and
   * demand goes on: renewing before it runs out keeps a busy key's requests from all waiting for
   * a round trip together each time a lease ends. Its answer waits behind the lease in use. A
   * failure is a store failure as a check's is; a call that times out but lands is given back whole.
   */
  function renew(key: string, dims: readonly Dimension[]): void {
    const tokens = want(key);
    const bytes = bytesFor(dims);
    if (tokens === 0 || bytes === null || closed) return;
    ask(key, dims, tokens, bytes, true).then(
      (answer) => {
        if (!answer.ok) answer.late.reconcile(null);
        // The store failed meanwhile (every lease ended then): this one ends too.
        else if (!storeUp()) book.endAll();
      },
      (err: unknown) => deps.logger.error({ err }, 'a lease renewal was refused as invalid'),
    );
  }

  const check = async (dims: readonly Dimension[]): Promise<SharedOutcome> => outcomeOf(await deps.check(dims));

  /**
   * Response bytes to reserve per request on the dimensions' byte budget (the largest recent response
   * there), 0 without one; null while its sizes are unknown: no lease can be granted yet.
   */
  const bytesFor = (dims: readonly Dimension[]): number | null => {
    for (const d of dims) {
      if (!d.checkOnly) continue;
      const bytes = sizes.perRequest(d.key);
      return bytes > 0 ? bytes : null;
    }
    return 0;
  };

  return {
    async decide(dims, shadow) {
      // A shadow must see every request: a request that carries one makes its own check (and its
      // shadow counters stay exact); the key's leases are left as they are.
      if (shadow) return outcomeOf(await deps.check(dims, shadow));
      const key = leaseKeyOf(config, dims);
      if (key === null) return check(dims);
      demand.count(key);
      const token = book.take(key);
      if (token) {
        if (book.halfUsed(key) && want(key) > 0) renew(key, dims);
        return { kind: 'leased', decision: token };
      }
      // A lease call for these dimensions is out: its tokens are likely enough for this one too.
      const answered = asking.get(key);
      if (answered) {
        await answered;
        if (!storeUp()) return { kind: 'unreachable', late: null };
        const again = book.take(key);
        if (again) return { kind: 'leased', decision: again };
      }
      const tokens = want(key);
      const bytes = bytesFor(dims);
      if (tokens === 0 || bytes === null) return check(dims);
      return outcomeOf(await ask(key, dims, tokens, bytes, false));
    },
    holds: (tag) => book.holds(tag),
    responded: (key, bytes) => sizes.record(key, bytes),
    settle: (draw, bytes, at) => book.settle(draw, bytes, at),
    endAll: () => book.endAll(),
    close() {
      book.endAll();
      closed = true;
      clearInterval(leaseSweep);
      clearInterval(demandSweep);
    },
  };
}
