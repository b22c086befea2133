/** Weight of the newest hold time in the running mean the wait estimates use. */
const HOLD_EMA_ALPHA = 0.2;

/** A slot given to a call (fair-queue.ts `Slot`). */
export interface HeldSlot {
  /** How long the call waited for it, ms. */
  readonly waitedMs: number;
  /** Gives the slot back; only the first call counts. */
  release(): void;
}

/**
 * The slots in use of one fair queue and how long slots are held: what its admission decisions
 * and wait estimates read. A slot is an object with a `release` method rather than a closure: one
 * allocation per grant on a path every request or downstream call takes.
 */
export class SlotsHeld {
  inFlight = 0;
  /** Slots held by `normal` and `batch` calls (rank > 0): at most the limit minus the reserve. */
  inFlightUnreserved = 0;
  /** Running mean of how long a slot is held, ms; undefined until one is released. */
  private holdMs: number | undefined;
  /** Sum of the grant times of the slots in use: their mean age is `now - sum / inFlight`. */
  private grantedAtSum = 0;

  /**
   * @param now the queue's clock, ms
   * @param onRelease called after each release (the queue grants the freed slot)
   */
  constructor(
    private readonly now: () => number,
    private readonly onRelease: () => void,
  ) {}

  /** A slot for a call of class `rank` (0 = critical), held from `at`, asked for at `askedAt`. */
  take(rank: number, at: number, askedAt: number): HeldSlot {
    this.inFlight++;
    this.grantedAtSum += at;
    if (rank > 0) this.inFlightUnreserved++;
    return new Slot(this, rank, at, at - askedAt);
  }

  /** @internal Slot.release */
  give(rank: number, at: number): void {
    this.inFlight--;
    // Back to exactly 0 when idle, so float rounding never accumulates.
    this.grantedAtSum = this.inFlight === 0 ? 0 : this.grantedAtSum - at;
    if (rank > 0) this.inFlightUnreserved--;
    const held = this.now() - at;
    this.holdMs = this.holdMs === undefined ? held : this.holdMs + HOLD_EMA_ALPHA * (held - this.holdMs);
    this.onRelease();
  }

  /**
   * How long a slot is held, ms: the running mean, or the mean age of the slots in use when that
   * is longer. A service that just became slow (or hangs) shows in the ages long before its
   * calls end and move the mean. Undefined before anything was learnt.
   */
  holdEstimate(at: number): number | undefined {
    const meanAge = this.inFlight > 0 ? at - this.grantedAtSum / this.inFlight : 0;
    return this.holdMs === undefined && meanAge === 0 ? undefined : Math.max(this.holdMs ?? 0, meanAge);
  }
}

class Slot implements HeldSlot {
  private released = false;
  constructor(
    private readonly held: SlotsHeld,
    private readonly rank: number,
    private readonly at: number,
    readonly waitedMs: number,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.held.give(this.rank, this.at);
  }
}
