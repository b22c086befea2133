/**
 * One priority class's waiting calls, in start-time fair queueing order (SFQ: Goyal, Vin and
 * Cheng, 1996). Each tenant has a flow (its calls in arrival order). A call that arrives gets the
 * start tag `max(V, the tenant's last finish)` and moves the tenant's finish to that plus
 * `1 / weight`; the call with the smallest start tag is served next, and V becomes its tag. So
 * backlogged tenants are served in proportion to their weights, and a tenant that was idle starts
 * at V, level with the others, instead of behind a flooder's backlog.
 *
 * Every call costs one slot, whatever it does, so the cost of a call is `1 / weight`.
 */

export interface Queued<T> {
  readonly tenantId: string;
  /** > 0; a call's share of the class relative to the other tenants'. */
  readonly weight: number;
  /** Arrival order, across all classes: breaks ties between equal tags. */
  readonly seq: number;
  /** SFQ start tag; lowered when an earlier call of the same flow leaves the queue unserved. */
  start: number;
  readonly value: T;
}

interface Flow<T> {
  items: Queued<T>[];
  /** Finish tag of the flow's last call: where its next call starts, unless V is past it. */
  finish: number;
}

/** Flows kept while empty (they remember how far ahead their tenant is) before a sweep drops the stale ones. */
const EMPTY_FLOWS_BEFORE_SWEEP = 256;

export function createTenantFlows<T>() {
  const flows = new Map<string, Flow<T>>();
  /** SFQ's virtual time: the start tag of the last call served. */
  let virtual = 0;
  let size = 0;

  /** The start tag a call of `tenantId` arriving now would get. */
  const startFor = (tenantId: string) => Math.max(virtual, flows.get(tenantId)?.finish ?? 0);

  /** Takes `item` out of its flow; `unserved`: its cost is given back to the calls behind it. */
  function take(item: Queued<T>, unserved: boolean): boolean {
    const flow = flows.get(item.tenantId);
    const index = flow ? flow.items.indexOf(item) : -1;
    if (!flow || index < 0) return false;
    flow.items.splice(index, 1);
    size--;
    if (unserved) {
      const cost = 1 / item.weight;
      for (const later of flow.items.slice(index)) later.start -= cost;
      flow.finish -= cost;
    }
    if (size === 0) {
      // The class is idle: a new busy period starts from zero (SFQ's reset), with no flow history.
      flows.clear();
      virtual = 0;
    }
    return true;
  }

  function sweep(): void {
    if (flows.size - size <= EMPTY_FLOWS_BEFORE_SWEEP) return;
    // An empty flow whose finish V has passed remembers nothing V does not: same as no flow.
    for (const [tenantId, flow] of flows) if (flow.items.length === 0 && flow.finish <= virtual) flows.delete(tenantId);
  }

  return {
    size: () => size,

    startFor,

    add(tenantId: string, weight: number, seq: number, value: T): Queued<T> {
      let flow = flows.get(tenantId);
      if (!flow) {
        flow = { items: [], finish: 0 };
        flows.set(tenantId, flow);
      }
      const item: Queued<T> = { tenantId, weight, seq, start: Math.max(virtual, flow.finish), value };
      flow.finish = item.start + 1 / weight;
      flow.items.push(item);
      size++;
      return item;
    },

    /** The call to serve next: the smallest start tag, the earliest arrival among equals. */
    head(): Queued<T> | undefined {
      let best: Queued<T> | undefined;
      for (const flow of flows.values()) {
        const first = flow.items[0];
        if (first && (!best || first.start < best.start || (first.start === best.start && first.seq < best.seq))) best = first;
      }
      return best;
    },

    /** Takes the head out to be served: V moves to its tag. */
    serve(item: Queued<T>): void {
      if (take(item, false)) virtual = size === 0 ? 0 : Math.max(virtual, item.start);
      sweep();
    },

    /**
     * Takes a call out unserved (expired, cancelled, shed): the calls behind it in its flow move
     * up by its cost, as if it had never arrived, so a tenant whose calls time out keeps its share.
     */
    remove(item: Queued<T>): void {
      take(item, true);
    },

    /** The last call of every non-empty flow, with how far its flow's finish is ahead of V (its tenant's excess). */
    *tails(): Generator<{ item: Queued<T>; ahead: number }> {
      for (const flow of flows.values()) {
        const last = flow.items[flow.items.length - 1];
        if (last) yield { item: last, ahead: flow.finish - virtual };
      }
    },

    /** How far `tenantId`'s finish would be ahead of V with one more call of `weight`. */
    aheadWith(tenantId: string, weight: number): number {
      return startFor(tenantId) + 1 / weight - virtual;
    },

    /** The longest-waiting call's value per flow: flows are FIFO, so their first calls. */
    *firsts(): Generator<T> {
      for (const flow of flows.values()) if (flow.items[0]) yield flow.items[0].value;
    },

    /** Calls served before one arriving now with tag `start` (equal tags go in arrival order). */
    countBefore(start: number): number {
      let count = 0;
      for (const flow of flows.values()) for (const item of flow.items) if (item.start <= start) count++;
      return count;
    },

    /** Every waiting call, in no particular order. */
    *all(): Generator<Queued<T>> {
      for (const flow of flows.values()) yield* flow.items;
    },
  };
}

export type TenantFlows<T> = ReturnType<typeof createTenantFlows<T>>;
