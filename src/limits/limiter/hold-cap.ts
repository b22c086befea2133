import type { Dimension } from '../store/types.js';
import type { Limiter } from './interface.js';

/** A dimension as it is checked when no hold may be asked for: its burst zone dropped, so it refuses as without one. */
export function withoutBurst(dimension: Dimension): Dimension {
  if (dimension.kind !== 'sliding' || dimension.burst === undefined) return dimension;
  const { burst: _dropped, ...rest } = dimension;
  return rest;
}

const hasBurst = (dimension: Dimension): boolean => dimension.kind === 'sliding' && dimension.burst !== undefined;

/**
 * The per-instance bound on held requests (graduated throttling, `limits.maxHeldRequests`): at most
 * `maxHeld` requests of this instance are held at once, counting those whose check is out (it may
 * come back held) and those waiting for their time. Past it, a check is sent without its burst
 * zones, so the store refuses what does not fit now (429) rather than hold it: the bound is decided
 * before the store reserves anything, so nothing reserved is ever given back for it.
 *
 * A hold's seat is taken from its answer until its run time (`heldMs` on this instance's monotonic
 * clock), which is when the limit gate lets it run.
 */
export function withHoldCap(limiter: Limiter, maxHeld: number, clock: () => number = performance.now.bind(performance)): Limiter & { held(): number } {
  /** Checks out that may come back held. */
  let pending = 0;
  /** When each held request runs (clock ms); few (at most `maxHeld`), so a plain array. */
  let releases: number[] = [];
  const holding = (): number => {
    const now = clock();
    if (releases.length > 0 && releases.some((at) => at <= now)) releases = releases.filter((at) => at > now);
    return releases.length;
  };

  /** A check that may come back held: its seat counted while it is out. */
  async function consumeHoldable(...[dims, onStoreFailure, shadow]: Parameters<Limiter['consume']>): ReturnType<Limiter['consume']> {
    if (holding() + pending >= maxHeld) return { ...(await limiter.consume(dims.map(withoutBurst), onStoreFailure, shadow)), burstsDropped: true };
    pending++;
    let outcome: Awaited<ReturnType<Limiter['consume']>>;
    try {
      outcome = await limiter.consume(dims, onStoreFailure, shadow);
    } finally {
      pending--;
    }
    const heldMs = outcome.decision.heldMs ?? 0;
    if (heldMs > 0) releases.push(clock() + heldMs);
    return outcome;
  }

  return {
    ...limiter,
    // Not async: most checks have no burst zone, and an async function handing back another
    // promise costs two more microtask turns on every such check.
    consume: (dims, onStoreFailure, shadow) =>
      dims.some(hasBurst) ? consumeHoldable(dims, onStoreFailure, shadow) : limiter.consume(dims, onStoreFailure, shadow),
    held: holding,
  };
}
