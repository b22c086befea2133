import type { Config, PlanLimits } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { readMinutes } from '../record/reader.js';
import type { RecordStore } from '../record/record-store.js';
import { checkedPlans, ProposalError } from './proposed-plans.js';
import { createReplaySlot, type ReplaySlot } from './replay-slot.js';
import { replayRecords, type ReplayResult } from './replay-run.js';
import { badReplayInput, replayTime } from './replay-arguments.js';

/** Most records one console replay reads: about 30 s of one core at the measured rate (bench/README.md, replay). */
export const MAX_REPLAY_RECORDS = 500_000;
/** Longest period: the record's default retention (a week and a day). */
const MAX_SPAN_MS = 8 * 86_400_000;

/** One plan's proposed limits, as the console sends them (`PlanProposalInput`). */
export interface PlanProposal {
  plan: string;
  limits: PlanLimits;
  /** Limits removed altogether. */
  unlimited: string[];
}

/** Limits a proposal may set or remove (the plan fields the console edits). */
const EDITABLE = [
  'requestsPerMinute',
  'requestsPerDay',
  'requestsPerMonth',
  'costPerMinute',
  'maxOperationCost',
  'responseBytesPerHour',
  'perIpPerMinute',
  'perClientShare',
];

/**
 * The console's "What if" (schema/replay.graphql `planReplay`): a replay of the record on this
 * instance, bounded (MAX_REPLAY_RECORDS, MAX_SPAN_MS, one replay at a time per instance: replay-slot.ts); `npm run simulate` runs the
 * same replay without a bound, off the gateway.
 */
export function createPlanReplay(deps: {
  store: RecordStore | null;
  config: () => Config;
  /** Platform admins' runtime limit overrides in force (applied from when each was set); default none. */
  overrides?: () => readonly RuntimeOverride[];
  /** One replay at a time per instance, shared with cost calibration's; default this replay's own. */
  slot?: ReplaySlot;
  maxRecords?: number;
}) {
  const maxRecords = deps.maxRecords ?? MAX_REPLAY_RECORDS;
  const slot = deps.slot ?? createReplaySlot();

  async function run(input: { from: string; to: string; plans: PlanProposal[] }): Promise<ReplayResult & { maxRecords: number }> {
    if (!deps.store) throw new GatewayError('BAD_REQUEST', 'The request record is off on this gateway (config record.enabled): there is nothing to replay.');
    const from = replayTime(input.from, 'from');
    const to = replayTime(input.to, 'to');
    if (!(to > from)) throw badReplayInput(`to must be after from: ${input.from} .. ${input.to}`, 'to');
    if (to - from > MAX_SPAN_MS) throw badReplayInput(`the period may span at most 8 days (the record's retention): ${input.from} .. ${input.to}`, 'to');
    const config = deps.config();
    const proposal = proposalOf(input.plans, config);
    const store = deps.store;
    return slot.run(async () => {
      const result = await replayRecords(readMinutes(store, { from, to }), { config, proposal, maxRecords, overrides: deps.overrides?.() ?? [] });
      return { ...result, maxRecords };
    });
  }

  return { run };
}

export type PlanReplay = ReturnType<typeof createPlanReplay>;

function proposalOf(plans: PlanProposal[], config: Config): Record<string, PlanLimits> {
  const proposal: Record<string, PlanLimits> = {};
  for (const p of plans) {
    if (Object.hasOwn(proposal, p.plan)) throw badReplayInput(`plan "${p.plan}" is proposed twice`, 'plans');
    const limits: Record<string, unknown> = { ...p.limits };
    for (const [name, value] of Object.entries(limits)) {
      const ok = name === 'perClientShare' ? typeof value === 'number' && value > 0 && value <= 1 : Number.isInteger(value) && (value as number) >= 0;
      if (!ok)
        throw badReplayInput(
          `${p.plan}.${name} must be ${name === 'perClientShare' ? 'a share above 0 and at most 1' : 'a whole number >= 0'}: ${String(value)}`,
          'plans',
        );
    }
    for (const name of p.unlimited) {
      if (!EDITABLE.includes(name)) throw badReplayInput(`${p.plan}.unlimited names no limit: "${name}" (one of ${EDITABLE.join(', ')})`, 'plans');
      limits[name] = name === 'perClientShare' ? undefined : 'unlimited';
    }
    proposal[p.plan] = limits as PlanLimits;
  }
  try {
    return checkedPlans(proposal, 'the proposal', config);
  } catch (err) {
    if (err instanceof ProposalError) throw badReplayInput(err.message, 'plans');
    throw err;
  }
}
