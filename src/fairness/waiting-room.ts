import { PRIORITIES, PRIORITY_RANK, type Priority } from './priority.js';
import { createTenantFlows, type Queued, type TenantFlows } from './tenant-flows.js';

/** What the waiting room reads of a call (fair-queue.ts's `SlotRequest`). */
interface CallRequest {
  readonly tenantId: string;
  readonly weight: number;
  readonly priority: Priority;
  readonly deadlineAt: number;
}

/** A call and what its caller is told (`H`), from when it asks for a slot. */
export interface Waiter<H> {
  readonly request: CallRequest;
  readonly rank: number;
  readonly enqueuedAt: number;
  readonly handlers: H;
  /** Its class's flows; `entry` is set while it waits there. */
  readonly flows: TenantFlows<Waiter<H>>;
  entry?: Queued<Waiter<H>>;
}

const NO_WAITERS: readonly never[] = [];

/** Why the waiting room turns a call away when it is full (fair-queue.ts `QueueReason`). */
export type FullReason = 'shed' | 'tenant_queue_full' | 'queue_full';

/**
 * The calls waiting for a slot of one fair queue (fair-queue.ts): one set of tenant flows per
 * priority class, the count per tenant, which class is served next (ageing) and whom to shed
 * when a bound is reached. It grants nothing and keeps no time: the queue decides when.
 */
export function createWaitingRoom<H>(options: {
  /** Whether a call of class `rank` may run now under `limit` (the queue's slots and reserve). */
  canRun: (rank: number, limit: number) => boolean;
  /** Waiting this long counts as one class more, ms. */
  agePerClassMs: number;
  /** Calls waiting, all tenants together. */
  maxQueue: number;
  /** Calls of one tenant waiting. */
  maxQueuePerTenant: number;
}) {
  /** One set of tenant flows per class, indexed by rank. */
  const classes: readonly TenantFlows<Waiter<H>>[] = PRIORITIES.map(() => createTenantFlows<Waiter<H>>());
  const flowsOf = Object.fromEntries(PRIORITIES.map((p) => [p, classes[PRIORITY_RANK[p]]])) as Record<Priority, TenantFlows<Waiter<H>>>;
  const perTenant = new Map<string, number>();
  let seq = 0;

  const size = () => {
    let queued = 0;
    for (const flows of classes) queued += flows.size();
    return queued;
  };
  function untrack(tenantId: string): void {
    const left = (perTenant.get(tenantId) ?? 1) - 1;
    if (left > 0) perTenant.set(tenantId, left);
    else perTenant.delete(tenantId);
  }

  /** The class to serve next among those that may run: earliest due (arrival + rank x age) first. */
  function nextClass(limit: number): TenantFlows<Waiter<H>> | undefined {
    let best: { flows: TenantFlows<Waiter<H>>; due: number; rank: number } | undefined;
    classes.forEach((flows, rank) => {
      if (flows.size() === 0 || !options.canRun(rank, limit)) return;
      let oldest = Infinity;
      for (const waiter of flows.firsts()) oldest = Math.min(oldest, waiter.enqueuedAt);
      const due = oldest + rank * options.agePerClassMs;
      if (!best || due < best.due || (due === best.due && rank < best.rank)) best = { flows, due, rank };
    });
    return best?.flows;
  }

  return {
    /** Calls waiting, all classes together. */
    size,

    /** The waiter of a call asking at `at`; not waiting until `add`. */
    waiter(request: CallRequest, handlers: H, enqueuedAt: number): Waiter<H> {
      return { request, rank: PRIORITY_RANK[request.priority], enqueuedAt, handlers, flows: flowsOf[request.priority] };
    },

    add(waiter: Waiter<H>): void {
      const { tenantId, weight } = waiter.request;
      waiter.entry = waiter.flows.add(tenantId, weight, ++seq, waiter);
      perTenant.set(tenantId, (perTenant.get(tenantId) ?? 0) + 1);
    },

    /** Out unserved (expired, cancelled, shed); false when it was not waiting. */
    remove(waiter: Waiter<H>): boolean {
      const entry = waiter.entry;
      if (!entry) return false;
      waiter.entry = undefined;
      waiter.flows.remove(entry);
      untrack(waiter.request.tenantId);
      return true;
    },

    /** Out to be served: the next call that may run under `limit`, undefined when none may. */
    next(limit: number): Waiter<H> | undefined {
      const flows = nextClass(limit);
      const entry = flows?.head();
      if (!flows || !entry) return undefined;
      flows.serve(entry);
      entry.value.entry = undefined;
      untrack(entry.tenantId);
      return entry.value;
    },

    /** The calls whose deadline is `at` or before (still waiting: the caller removes them). */
    expired(at: number): readonly Waiter<H>[] {
      if (size() === 0) return NO_WAITERS; // every release pumps: no array for an empty room
      const found: Waiter<H>[] = [];
      for (const flows of classes) for (const entry of flows.all()) if (entry.value.request.deadlineAt <= at) found.push(entry.value);
      return found;
    },

    /** Calls that would be served before `waiter` if it waited now, lower classes' ageing aside. */
    ahead(waiter: Waiter<H>): number {
      const start = waiter.flows.startFor(waiter.request.tenantId);
      return classes.slice(0, waiter.rank).reduce((sum, c) => sum + c.size(), waiter.flows.countBefore(start));
    },

    /**
     * Makes room for a newcomer when a bound is reached: returns the waiter to shed, the newcomer
     * itself when it is the one to go (then with the reason), or nothing when there is room.
     */
    victimFor(newcomer: Waiter<H>): { waiter: Waiter<H> | 'newcomer'; reason: FullReason } | undefined {
      const { tenantId, weight } = newcomer.request;
      const lessUrgent = classes.slice(newcomer.rank + 1).reverse();
      if ((perTenant.get(tenantId) ?? 0) >= options.maxQueuePerTenant) {
        // The tenant's own least urgent, newest call goes if the newcomer is more urgent.
        for (const flows of lessUrgent) {
          for (const { item } of flows.tails()) if (item.tenantId === tenantId) return { waiter: item.value, reason: 'shed' };
        }
        return { waiter: 'newcomer', reason: 'tenant_queue_full' };
      }
      if (size() < options.maxQueue) return undefined;
      // The least urgent class present, newcomer included; in it, the tenant furthest over its share.
      const lowest = lessUrgent.find((flows) => flows.size() > 0);
      const worst = lowest ? worstOf(lowest, -Infinity) : worstOf(newcomer.flows, newcomer.flows.aheadWith(tenantId, weight));
      return worst ? { waiter: worst, reason: 'shed' } : { waiter: 'newcomer', reason: 'queue_full' };
    },

    byPriority: () => Object.fromEntries(PRIORITIES.map((p) => [p, flowsOf[p].size()])) as Record<Priority, number>,
  };
}

/** The newest call of the tenant furthest over its share in `flows`, if its excess is above `above`. */
function worstOf<T>(flows: TenantFlows<T>, above: number): T | undefined {
  let worst: { item: Queued<T>; ahead: number } | undefined;
  for (const tail of flows.tails()) if (tail.ahead > above && (!worst || tail.ahead > worst.ahead)) worst = tail;
  return worst?.item.value;
}

export type WaitingRoom<H> = ReturnType<typeof createWaitingRoom<H>>;
