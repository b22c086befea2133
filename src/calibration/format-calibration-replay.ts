import { table } from './text-table.js';

/** `costCalibrationReplay` as `npm run cost -- calibrate --replay` asks for it. */
export const REPLAY_QUERY = `query CalibrationReplay($from: String!, $to: String!, $minLists: Int, $eachSuggestion: Boolean) {
  costCalibrationReplay(from: $from, to: $to, minLists: $minLists, eachSuggestion: $eachSuggestion, tenants: 500) {
    from to records maxRecords truncated repriced notRepriced { noOperation notKept unpriceable } estimatedBefore
    sets { label sizes { coordinate assumedSize } estimated requestsChanged costRefusedBefore costRefusedAfter tenantCount
      tenants { tenantId plans requests notRepriced costPerMinute liveCostRefused
        before { costRefused refused peak headroom } after { costRefused refused peak headroom } } }
  }
}`;

interface Side {
  costRefused: number;
  refused: number;
  peak: number | null;
  headroom: number | null;
}

/** The answer to REPLAY_QUERY. */
export interface CalibrationReplayView {
  from: string;
  to: string;
  records: number;
  maxRecords: number;
  truncated: boolean;
  repriced: number;
  notRepriced: { noOperation: number; notKept: number; unpriceable: number };
  estimatedBefore: number;
  sets: {
    label: string;
    sizes: { coordinate: string; assumedSize: number }[];
    estimated: number;
    requestsChanged: number;
    costRefusedBefore: number;
    costRefusedAfter: number;
    tenantCount: number;
    tenants: {
      tenantId: string;
      plans: string[];
      requests: number;
      notRepriced: number;
      costPerMinute: number | null;
      liveCostRefused: number;
      before: Side;
      after: Side;
    }[];
  }[];
}

/** The replay as text: what was replayed and priced again, then per size set the tenants near their cost limits, before and after. */
export function formatCalibrationReplay(replay: CalibrationReplayView): string {
  const { notRepriced: n } = replay;
  const kept = n.noOperation + n.notKept + n.unpriceable;
  const lines = [
    `Replay of ${replay.from} .. ${replay.to}: ${replay.records} recorded requests replayed against the plans that were live` +
      `${replay.truncated ? ` (stopped at the bound, ${replay.maxRecords} per run)` : ''}.`,
    `${replay.repriced} priced again with the suggested sizes` +
      (kept === 0
        ? '.'
        : `; ${kept} kept their recorded estimate (${n.noOperation} name no operation, ${n.notKept} operation not kept, ${n.unpriceable} no longer priceable).`),
  ];
  for (const set of replay.sets) {
    lines.push('');
    if (set.sizes.length === 0) {
      lines.push("No @listSize change suggested: 'with the suggestions' prices the recorded operations on today's schema as it is.");
      continue;
    }
    lines.push(`${set.label}: ${set.sizes.map((s) => `${s.coordinate} @listSize(assumedSize: ${s.assumedSize})`).join(', ')}`);
    lines.push(
      `  estimated ${round(replay.estimatedBefore)} -> ${round(set.estimated)} (${set.requestsChanged} requests changed); ` +
        `cost refusals: ${set.costRefusedBefore} as recorded, ${set.costRefusedAfter} with the suggestions`,
    );
    if (set.tenants.length === 0) {
      lines.push('  No tenant near its cost limits (refused by one, or 80 % of its cost points per minute in use) either way.');
      continue;
    }
    lines.push(`  Tenants near their cost limits (${set.tenantCount}): refused by a cost limit, peak cost points per minute in use, headroom`, '');
    lines.push(
      ...table(
        ['tenant', 'plan', 'cost/min', 'refused before', 'after', 'peak before', 'after', 'headroom before', 'after', 'not repriced'],
        set.tenants.map((t) => [
          t.tenantId,
          t.plans.join(','),
          t.costPerMinute === null ? '-' : String(t.costPerMinute),
          String(t.before.costRefused),
          String(t.after.costRefused),
          orDash(t.before.peak),
          orDash(t.after.peak),
          orDash(t.before.headroom),
          orDash(t.after.headroom),
          String(t.notRepriced),
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function orDash(value: number | null): string {
  return value === null ? '-' : String(round(value));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
