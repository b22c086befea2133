import type { Config } from '../config/schema.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { RecordedMinute } from '../record/reader.js';
import type { LeaseEvent } from '../record/lease-event.js';
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
 * Replays recorded requests (the reader's minutes, oldest first: `readMinutes`) against the
 * proposed plans: `createReplayRun` fed every minute of the source, then finished.
 */
export async function replayRecords(source: AsyncIterable<RecordedMinute>, options: ReplayOptions): Promise<ReplayResult> {
  const run = createReplayRun(options);
  for await (const minute of source) if (!(await run.push(minute.records, minute.events))) break;
  return run.finish();
}

/**
 * One replay, fed a minute at a time (several runs can share one read of the record: cost
 * calibration replays the same period as recorded and with suggested sizes). Records are replayed
 * in the order the live store decided them: each minute's records are sorted by decision time,
 * and a record is replayed once every record accepted before its decision time has arrived (a
 * decision never comes before its request was accepted). Within one millisecond (one store clock
 * tick) a tenant's store calls go by their number (`seq`: the order the store ran them), the
 * rest as `rankOf` says, then by acceptance.
 */
export function createReplayRun(options: ReplayOptions) {
  const proposing = Object.keys(options.proposal).length > 0;
  const decider = createReplayDecider(configWithProposal(options.config, options.proposal), options.overrides, proposing ? options.config : undefined);
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
    /**
     * The next minute's records, in acceptance order, and its lease events; false once the bound
     * stopped the run (push no more).
     */
    async push(minute: readonly RequestRecord[], events: readonly LeaseEvent[] = []): Promise<boolean> {
      if (result.truncated) return false;
      // Known before any record is replayed: a lease call's request finds its grant, the other
      // events wait in the tenant's timeline for their place.
      for (const event of events) decider.known(event);
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
  return decisionTime(a) - decisionTime(b) || rankOf(a) - rankOf(b) || (a.seq ?? 0) - (b.seq ?? 0) || a.at - b.at;
}

/**
 * A record's place within its millisecond. The store's calls go by their numbers (the order Redis
 * ran them; numbers are per tenant, and tenants share nothing in the store). Requests served from
 * a lease come after them (their lease's grant is one of them; they charge nothing of their own).
 * Records without a number (the formats before numbers, refusals answered from memory) go as
 * replays of those formats always went: admitted first, refused last (a refusal charges nothing).
 */
function rankOf(record: RequestRecord): number {
  if (record.seq !== undefined) return 1;
  if (record.leaseSeq !== undefined) return 2;
  return record.throttledBy === null ? 0 : 3;
}
