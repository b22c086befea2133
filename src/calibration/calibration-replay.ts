import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { createOperationReader } from '../record/operation-reader.js';
import type { OperationStore } from '../record/operation-store.js';
import { readMinutes } from '../record/reader.js';
import type { RecordStore } from '../record/record-store.js';
import { createReplaySlot, type ReplaySlot } from '../replay/replay-slot.js';
import type { CalibrationReport, ReportOptions } from './report.js';
import { replayWithSizes, type SizedReplay, type SizeSet } from './sized-replay.js';
import { badReplayInput, replayTime } from '../replay/replay-arguments.js';

/**
 * Decisions one replay of the console makes at most, over all its runs (the period as recorded,
 * every suggestion together, and each alone when asked): twice the What if page's 500,000
 * records, 43-53 s of one core (`npm run bench -- calibration-replay`, bench/README.md).
 */
export const MAX_REPLAY_DECISIONS = 1_000_000;
/** Longest period: the record's default retention (a week and a day). */
const MAX_SPAN_MS = 8 * 86_400_000;
/** Each suggestion alone is replayed only for this many suggestions at most: each is a run. */
export const MAX_SINGLE_SETS = 8;

export interface CalibrationReplayInput {
  from: string;
  to: string;
  minLists: number;
  /** Also replay each suggestion alone (one run each, so fewer records per run). */
  eachSuggestion: boolean;
}

export type CalibrationReplayResult = SizedReplay & { from: number; to: number; maxRecords: number };

/**
 * Cost calibration's replay (issue 23, item 3): the suggestions of the calibration report,
 * applied to the recorded requests of a period, against the plans that were live (sized-replay.ts).
 * Runs on the gateway for the console and `npm run cost -- calibrate --replay`, bounded like the
 * What if page (MAX_REPLAY_DECISIONS, MAX_SPAN_MS, one replay of either kind at a time per instance).
 */
export function createCalibrationReplay(deps: {
  records: RecordStore | null;
  operations: OperationStore | null;
  config: () => Config;
  /** Platform admins' runtime limit overrides in force; default none. */
  overrides?: () => readonly RuntimeOverride[];
  schema: GraphQLSchema;
  defaultListSize: number;
  report: (options: ReportOptions) => Promise<CalibrationReport>;
  /** One replay at a time per instance, shared with the What if page's; default this replay's own. */
  slot?: ReplaySlot;
  maxDecisions?: number;
}) {
  const maxDecisions = deps.maxDecisions ?? MAX_REPLAY_DECISIONS;
  const slot = deps.slot ?? createReplaySlot();

  async function run(input: CalibrationReplayInput): Promise<CalibrationReplayResult> {
    if (!deps.records) throw new GatewayError('BAD_REQUEST', 'The request record is off on this gateway (config record.enabled): there is nothing to replay.');
    const from = replayTime(input.from, 'from');
    const to = replayTime(input.to, 'to');
    if (!(to > from)) throw badReplayInput(`to must be after from: ${input.from} .. ${input.to}`, 'to');
    if (to - from > MAX_SPAN_MS) throw badReplayInput(`the period may span at most 8 days (the record's retention): ${input.from} .. ${input.to}`, 'to');
    const records = deps.records;
    return slot.run(async () => {
      const report = await deps.report({ minLists: input.minLists, defaultListSize: deps.defaultListSize });
      const suggested = report.fields.flatMap((f) => (f.suggestedAssumedSize === null ? [] : [[f.coordinate, f.suggestedAssumedSize] as const]));
      const sets: SizeSet[] = [{ label: 'all suggestions', sizes: new Map(suggested) }];
      if (input.eachSuggestion && suggested.length > 1) {
        for (const [coordinate, size] of suggested.slice(0, MAX_SINGLE_SETS)) sets.push({ label: coordinate, sizes: new Map([[coordinate, size]]) });
      }
      // The period as recorded is one run more.
      const maxRecords = Math.floor(maxDecisions / (sets.length + 1));
      const result = await replayWithSizes({
        source: readMinutes(records, { from, to }),
        operations: deps.operations ? createOperationReader(deps.operations) : null,
        config: deps.config(),
        overrides: deps.overrides?.() ?? [],
        schema: deps.schema,
        defaultListSize: deps.defaultListSize,
        sets,
        maxRecords,
      });
      return { ...result, from, to, maxRecords };
    });
  }

  return { run };
}

export type CalibrationReplay = ReturnType<typeof createCalibrationReplay>;
