import type { Priority } from '../fairness/priority.js';
import type { AdmissionOutcome } from './admission.js';

/** Width of one slice of the recent window, ms: counts age out 10 s at a time. */
const SLICE_MS = 10_000;
/** Slices kept: "the last minute" is the slices started in the last 60 s, so 50 to 60 s of events. */
const SLICES = 6;
/** Rows kept at most (tenant x plan x priority): a bound on memory whatever the traffic. */
const MAX_ROWS = 1000;

/** One tenant, plan and priority class: what admission did to it on this instance in the last minute. */
export interface AdmissionNowRow {
  tenantId: string;
  planId: string;
  priority: Priority;
  /** Requests that had to wait for their turn and then ran. */
  queued: number;
  /** Longest of those waits, ms. */
  maxWaitMs: number;
  /** Refused 503 because the instance was saturated (not the tenant's fault). */
  shed: number;
  /** Refused 429 because the tenant was over its own share (its concurrent-request cap). */
  refused: number;
}

interface Slice {
  /** Start of the slice, epoch ms (a multiple of SLICE_MS). */
  at: number;
  queued: number;
  maxWaitMs: number;
  shed: number;
  refused: number;
}

/**
 * Who is being queued or shed right now on this instance, for the platform console: per tenant,
 * plan and priority class, the requests that waited, were shed and were refused over their own
 * share in the last minute. Fed the admission outcomes (http/admission-hook.ts `onOutcome`); a
 * request admitted at once, nearly all of them, touches nothing here.
 */
export function createAdmissionNow(options: { now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const rows = new Map<string, { tenantId: string; planId: string; priority: Priority; slices: Slice[] }>();

  const sliceOf = (row: { slices: Slice[] }, at: number): Slice => {
    const start = at - (at % SLICE_MS);
    let slice = row.slices[row.slices.length - 1];
    if (!slice || slice.at !== start) {
      slice = { at: start, queued: 0, maxWaitMs: 0, shed: 0, refused: 0 };
      row.slices.push(slice);
      if (row.slices.length > SLICES) row.slices.shift();
    }
    return slice;
  };

  return {
    record(event: { tenantId: string; planId: string; priority: Priority; outcome: AdmissionOutcome }): void {
      const { outcome } = event;
      if (outcome.admitted && outcome.waitedMs <= 0) return;
      const key = `${event.tenantId}\u0000${event.planId}\u0000${event.priority}`;
      let row = rows.get(key);
      if (!row) {
        // The oldest row makes room (a Map iterates in insertion order).
        if (rows.size >= MAX_ROWS) rows.delete(rows.keys().next().value!);
        row = { tenantId: event.tenantId, planId: event.planId, priority: event.priority, slices: [] };
        rows.set(key, row);
      }
      const slice = sliceOf(row, now());
      if (outcome.admitted) {
        slice.queued++;
        slice.maxWaitMs = Math.max(slice.maxWaitMs, outcome.waitedMs);
      } else if (outcome.overOwnShare) slice.refused++;
      else slice.shed++;
    },

    /** The rows with anything in the last minute, most shed and refused first, then most queued. */
    snapshot(): AdmissionNowRow[] {
      const since = now() - SLICES * SLICE_MS;
      const out: AdmissionNowRow[] = [];
      for (const [key, row] of rows) {
        const recent = row.slices.filter((s) => s.at > since);
        if (recent.length === 0) {
          rows.delete(key);
          continue;
        }
        const sum = (pick: (s: Slice) => number) => recent.reduce((total, s) => total + pick(s), 0);
        out.push({
          tenantId: row.tenantId,
          planId: row.planId,
          priority: row.priority,
          queued: sum((s) => s.queued),
          maxWaitMs: Math.max(...recent.map((s) => s.maxWaitMs)),
          shed: sum((s) => s.shed),
          refused: sum((s) => s.refused),
        });
      }
      return out.sort((a, b) => b.shed + b.refused - (a.shed + a.refused) || b.queued - a.queued || (a.tenantId < b.tenantId ? -1 : 1));
    },
  };
}

export type AdmissionNow = ReturnType<typeof createAdmissionNow>;
