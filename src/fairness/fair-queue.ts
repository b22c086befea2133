import { PRIORITY_RANK, type Priority } from './priority.js';
import { SlotsHeld } from './slots-held.js';
import { createWaitingRoom, type Waiter } from './waiting-room.js';

/**
 * Who gets the next free slot of one downstream service, replacing a single FIFO behind the
 * concurrency cap:
 *
 * - **Across tenants**, within a priority class: start-time fair queueing by weight
 *   (tenant-flows.ts). SFQ rather than deficit round robin: every call costs one slot, so the
 *   tags are exact with any weight (0.5, 2.5, ...) and need no quantum to tune; a tenant coming
 *   back from idle is tagged level with everyone else at once, not at the end of a round; and a
 *   flow's finish tag measures how far over its share a tenant is, which is whom to shed.
 * - **Across classes**: `critical` before `normal` before `batch`, with ageing: a call's class
 *   counts `agePerClassMs` of waiting as one class more, so the class whose longest waiter is
 *   due first (arrival + rank x agePerClassMs) is served, and a batch call waits at most about
 *   2 x agePerClassMs longer than the critical calls around it.
 * - **Reserve**: `criticalReservePercent` of the limit (rounded; none when the limit is 1) is
 *   for `critical` calls only; `normal` and `batch` together never hold more than the rest.
 * - **Deadlines**: a call never waits past its deadline (refused `queue_timeout`), and is
 *   refused at once (`expected_wait`) when the calls ahead of it, at the slots' recent hold
 *   time (or the age of the slots in use, when longer), would not let it finish before its
 *   deadline: a slow service refuses early instead of holding callers until they time out.
 * - **Bounds**: at most `maxQueuePerTenant` calls of one tenant (past it, the tenant's own least
 *   urgent newest call goes, or the newcomer is refused `tenant_queue_full`), at most `maxQueue`
 *   in all (past it, the lowest class's most over-share tenant's newest call is shed, or the
 *   newcomer is refused `queue_full` when it is that call).
 *
 * The calls waiting (per class and tenant, which class goes next, whom to shed) are kept by
 * waiting-room.ts; this file decides when: free slots and the reserve, deadlines, the expected wait.
 *
 * No timers and no I/O: time comes from `now`, so a test drives it step by step. Expired calls
 * are refused whenever the queue is touched (a call arrives, a slot is released); the service
 * client also cancels a call when its own deadline timer fires.
 */

/** Why a call got no slot (the `reason` of a DOWNSTREAM_OVERLOADED error, or of an instance's OVERLOADED 503). */
export type QueueReason = 'queue_full' | 'tenant_queue_full' | 'shed' | 'queue_timeout' | 'expected_wait';

export interface SlotRequest {
  tenantId: string;
  /** The tenant's weight, > 0 (from its plan; 1 by default). */
  weight: number;
  priority: Priority;
  /** When the call gives up, on the queue's clock (ms). */
  deadlineAt: number;
}

export interface Refusal {
  reason: QueueReason;
  /** How long the call waited before it was refused, ms (0 when refused on arrival). */
  waitedMs: number;
  /** How long the queue now needs to drain at the recent pace, ms: a hint for `Retry-After`. */
  drainMs: number;
}

export interface Slot {
  /** How long the call waited for it, ms. */
  waitedMs: number;
  /** Gives the slot back; only the first call counts. */
  release(): void;
}

export interface SlotHandlers {
  /** The slot is the caller's (possibly before `request` returns). */
  granted(slot: Slot): void;
  /** No slot, now or later; never after `granted`, never after the caller cancelled. */
  refused(refusal: Refusal): void;
}

export interface QueueState {
  inFlight: number;
  queued: number;
  /** The concurrency limit in force now. */
  limit: number;
  queuedByPriority: Record<Priority, number>;
}

export interface FairQueue {
  /** Asks for a slot. Returns `cancel`: the caller left; nothing more is called for this request. */
  request(request: SlotRequest, handlers: SlotHandlers): () => void;
  /**
   * The slot at once when nothing waits and one is free for `priority`, as `request` would grant
   * it; otherwise undefined and nothing changes (then `request` decides). The common case costs
   * no waiter, handlers or closure.
   */
  tryAcquire(priority: Priority): Slot | undefined;
  state(): QueueState;
}

export interface FairQueueOptions {
  /** The concurrency limit, asked at every decision (the adaptive limit); at least 1 is used. */
  limit: () => number;
  /** Calls waiting, all tenants together (0: none waits). */
  maxQueue: number;
  /** Calls of one tenant waiting. */
  maxQueuePerTenant: number;
  /** Share of the limit in percent only `critical` calls may hold. */
  criticalReservePercent: number;
  /** Waiting this long counts as one class more, ms. */
  agePerClassMs: number;
  /** Clock in ms (`Date.now` in production). */
  now: () => number;
  /**
   * Whether a call's deadline must leave room for its own run after its wait (a downstream call:
   * the deadline is the call's), or bounds only its wait (admission: a request may run as long as
   * it needs once admitted). Default true.
   */
  deadlineCoversRun?: boolean;
}

/** The drain hint when no slot has been released yet, ms. */
const DEFAULT_DRAIN_MS = 1000;

export function createFairQueue(options: FairQueueOptions): FairQueue {
  const { now } = options;
  const slots = new SlotsHeld(now, () => pump());
  let pumping = false;

  const limitNow = () => Math.max(1, Math.floor(options.limit()));
  const reserveOf = (limit: number) => Math.min(limit - 1, Math.round((limit * options.criticalReservePercent) / 100));
  const canRun = (rank: number, limit: number) => slots.inFlight < limit && (rank === 0 || slots.inFlightUnreserved < limit - reserveOf(limit));
  const { agePerClassMs, maxQueue, maxQueuePerTenant } = options;
  const waiting = createWaitingRoom<SlotHandlers>({ canRun, agePerClassMs, maxQueue, maxQueuePerTenant });
  const holdEstimate = (at: number) => slots.holdEstimate(at);
  const drainMs = () => ((waiting.size() + 1) * (holdEstimate(now()) ?? DEFAULT_DRAIN_MS)) / limitNow();

  function grant(waiter: Waiter<SlotHandlers>, at: number): void {
    waiter.handlers.granted(slots.take(waiter.rank, at, waiter.enqueuedAt));
  }

  /** Out of the queue without a slot; `reason` undefined: the caller cancelled, nobody is told. */
  function drop(waiter: Waiter<SlotHandlers>, reason?: QueueReason): void {
    if (!waiting.remove(waiter)) return;
    if (reason) waiter.handlers.refused({ reason, waitedMs: now() - waiter.enqueuedAt, drainMs: drainMs() });
  }

  /** Grants every slot that is free to whoever is next. Re-entrant calls (from handlers) fold into the running one. */
  function pump(): void {
    if (pumping) return;
    pumping = true;
    try {
      const at = now();
      for (const waiter of waiting.expired(at)) drop(waiter, 'queue_timeout');
      for (let waiter = waiting.next(limitNow()); waiter; waiter = waiting.next(limitNow())) grant(waiter, at);
    } finally {
      pumping = false;
    }
  }

  return {
    request(request, handlers) {
      const waiter = waiting.waiter(request, handlers, now());
      const refuse = (reason: QueueReason) => handlers.refused({ reason, waitedMs: 0, drainMs: drainMs() });
      const cancel = () => drop(waiter);
      pump();
      const at = waiter.enqueuedAt;
      const limit = limitNow();
      // After a pump, no queued call may run: a free slot for this class means nobody before it.
      if (canRun(waiter.rank, limit)) {
        grant(waiter, at);
        return cancel;
      }
      if (request.deadlineAt <= at) {
        refuse('queue_timeout');
        return cancel;
      }
      const hold = holdEstimate(at);
      if (hold !== undefined) {
        const usable = waiter.rank === 0 ? limit : limit - reserveOf(limit);
        // Whole rounds of `usable` slots, then its own run: pessimistic when slots end staggered,
        // exact when they started together, and refusing early is the point.
        const rounds = Math.ceil((waiting.ahead(waiter) + 1) / usable);
        const expectedMs = rounds * hold + (options.deadlineCoversRun === false ? 0 : hold);
        if (expectedMs > request.deadlineAt - at) {
          refuse('expected_wait');
          return cancel;
        }
      }
      const victim = waiting.victimFor(waiter);
      if (victim?.waiter === 'newcomer') {
        refuse(victim.reason);
        return cancel;
      }
      if (victim) drop(victim.waiter, victim.reason);
      waiting.add(waiter);
      return cancel;
    },

    tryAcquire(priority) {
      const rank = PRIORITY_RANK[priority];
      // With nothing queued a pump would grant nothing: `request` would grant this call at once.
      if (waiting.size() > 0 || !canRun(rank, limitNow())) return undefined;
      const at = now();
      return slots.take(rank, at, at);
    },

    state() {
      return { inFlight: slots.inFlight, queued: waiting.size(), limit: limitNow(), queuedByPriority: waiting.byPriority() };
    },
  };
}
