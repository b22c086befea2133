/**
 * What the live store did for a tenant besides deciding requests (settles of earlier requests,
 * lease renewals, lease refunds), waiting for its place among the tenant's decisions: each at the
 * store time and call number (store/call-sequence.ts) it ran at. A decision at (t, seq) runs after
 * everything before it: at an earlier time, or at t with a number up to its own (a settle carried
 * by the decision's own call is applied first, as limiter.lua applies it). Without a number (a
 * record of a format before them) a step counts as the first of its millisecond, a decision as the
 * last: a settle then lands before the decisions of the millisecond it landed in, as replays of
 * those records always did.
 */
export interface StoreTimeline {
  /** A step of `tenantId` at store time `at`, call number `seq` (null: not known). */
  add(tenantId: string, at: number, seq: number | null, step: Step): void;
  /** Runs the tenant's steps before a decision at (t, seq) (seq null: not known), oldest first; each at its own time. */
  runUntil(tenantId: string, t: number, seq: number | null): Promise<void>;
  /** Runs every step still waiting (the end of the period). */
  drain(): Promise<void>;
}

/** A step, run on the replay's store with its clock at `at`. */
export type Step = (at: number) => Promise<void>;

interface Waiting {
  at: number;
  seq: number;
  step: Step;
}

export function createStoreTimeline(): StoreTimeline {
  const byTenant = new Map<string, Waiting[]>();

  async function runUntil(tenantId: string, t: number, seq: number): Promise<void> {
    const waiting = byTenant.get(tenantId);
    if (!waiting) return;
    while (waiting.length > 0 && (waiting[0]!.at < t || (waiting[0]!.at === t && waiting[0]!.seq <= seq))) {
      const due = waiting.shift()!;
      await due.step(due.at);
    }
    if (waiting.length === 0) byTenant.delete(tenantId);
  }

  return {
    add(tenantId, at, seq, step) {
      const entry = { at, seq: seq ?? Number.NEGATIVE_INFINITY, step };
      const waiting = byTenant.get(tenantId);
      if (!waiting) {
        byTenant.set(tenantId, [entry]);
        return;
      }
      // Steps arrive nearly in order: kept sorted by inserting from the back.
      let i = waiting.length;
      while (i > 0 && (waiting[i - 1]!.at > at || (waiting[i - 1]!.at === at && waiting[i - 1]!.seq > entry.seq))) i--;
      waiting.splice(i, 0, entry);
    },
    runUntil: (tenantId, t, seq) => runUntil(tenantId, t, seq ?? Number.POSITIVE_INFINITY),
    async drain() {
      for (const tenantId of [...byTenant.keys()]) await runUntil(tenantId, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    },
  };
}
