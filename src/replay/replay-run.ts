import type { Config } from '../config/schema.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { RequestRecord } from '../record/request-record.js';
import { configWithProposal, type ProposedPlans } from './proposed-plans.js';
import { createReplayDecider, decisionTime, type ReplayedDecision } from './replay-decider.js';
import { createTenantReport, type TenantReplay } from './tenant-report.js';

export interface ReplayOptions {
  /** The running config: tenants, keys, plans as they are. */
  config: Config;
  /** Limits laid over their plans for the replay; empty: the plans as they are (a faithfulness check). */
  proposal: ProposedPlans;
  /** Platform admins' runtime limit overrides (`setTenantLimits`) as they stand, each applied from its `setAt` until it expires; default none. */
  overrides?: readonly RuntimeOverride[];
  /** Stop after this many records (the gateway's bound); default: no bound. */
  maxRecords?: number;
  /** Sees every replayed decision, in decision order (the faithfulness test compares them). */
  onDecision?: (replayed: ReplayedDecision) => void;
}

export interface ReplayResult {
  /** Records replayed. */
  records: number;
  /** True when `maxRecords` stopped the replay before the period's end. */
  truncated: boolean;
  /** Epoch ms of the first and last record replayed (null: none). */
  firstAt: number | null;
  lastAt: number | null;
  /** Decisions that differ from the record's live one (by kind: `requests`, `cost`, ...; or admitted). */
  changed: number;
  /** Records decided live by an instance's local fallback (Redis away): replayed as the store would have decided them. */
  decidedLocally: number;
  tenants: TenantReplay[];
}

/**
 * Replays recorded requests (the reader's per-minute arrays, oldest first) against the proposed
 * plans: `createReplayRun` fed every minute of the source, then finished.
 */
export async function replayRecords(source: AsyncIterable<RequestRecord[]>, options: ReplayOptions): Promise<ReplayResult> {
  const run = createReplayRun(options);
  for await (const minute of source) if (!(await run.push(minute))) break;
  return run.finish();
}

/**
 * One replay, fed a minute at a time (several runs can share one read of the record: cost
 * calibration replays the same period as recorded and with suggested sizes). Records are replayed
 * in the order the live store decided them: each minute's records are sorted by decision time,
 * and a record is replayed once every record accepted before its decision time has arrived (a
 * decision never comes before its request was accepted). Requests decided in the same
 * millisecond (one store clock tick) go in the order the live store must have taken them: the
 * admitted ones before the refused ones, then by acceptance.
 */
export function createReplayRun(options: ReplayOptions) {
  const decider = createReplayDecider(configWithProposal(options.config, options.proposal), options.overrides);
  const report = createTenantReport();
  const max = options.maxRecords ?? Number.POSITIVE_INFINITY;
  const result = { records: 0, truncated: false, firstAt: null as number | null, lastAt: null as number | null, changed: 0, decidedLocally: 0 };
  let pending: RequestRecord[] = [];

  /** Replays the pending records decided before `until`; false once the bound is reached. */
  const replayUntil = async (until: number): Promise<boolean> => {
    pending.sort(byDecisionOrder);
    let i = 0;
    for (; i < pending.length && decisionTime(pending[i]!) < until; i++) {
      if (result.records >= max) {
        result.truncated = true;
        return false;
      }
      const record = pending[i]!;
      const replayed = await decider.decide(record);
      result.records += 1;
      result.firstAt ??= record.at;
      result.lastAt = record.at;
      if (replayed.throttledBy !== record.throttledBy) result.changed += 1;
      if (record.decidedLocally) result.decidedLocally += 1;
      report.add(replayed);
      options.onDecision?.(replayed);
    }
    pending = pending.slice(i);
    return true;
  };

  return {
    /** The next minute's records, in acceptance order; false once the bound stopped the run (push no more). */
    async push(minute: readonly RequestRecord[]): Promise<boolean> {
      if (result.truncated) return false;
      if (minute.length === 0) return true;
      if (!(await replayUntil(minute[0]!.at))) return false;
      for (const record of minute) pending.push(record);
      return true;
    },
    /** Replays what is left and settles every waiting settle: the report. */
    async finish(): Promise<ReplayResult> {
      if (!result.truncated) await replayUntil(Number.POSITIVE_INFINITY);
      await decider.drain();
      return { ...result, tenants: report.tenants() };
    },
  };
}

export type ReplayRun = ReturnType<typeof createReplayRun>;

function byDecisionOrder(a: RequestRecord, b: RequestRecord): number {
  return decisionTime(a) - decisionTime(b) || (a.throttledBy === null ? 0 : 1) - (b.throttledBy === null ? 0 : 1) || a.at - b.at;
}
