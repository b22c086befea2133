/**
 * `npm run cost -- calibrate [--url http://localhost:4000] [--token <platform admin key>] [--min-lists 20]`:
 * asks a running gateway for its cost calibration (the platform-admin `costCalibration` query)
 * and prints, per list field, what was returned against what is priced, the `@listSize` edits
 * it suggests, and what they would do to estimated costs. The token may come from
 * `GATEWAY_TOKEN` instead of `--token` (it stays out of the shell history).
 *
 * With `--replay [--from now-1h] [--to now] [--each]`, asks instead what the suggestions would do
 * to the tenants near their cost limits (`costCalibrationReplay`: the gateway replays its request
 * record with and without them) and prints that (format-calibration-replay.ts).
 */
import { parseArgs } from 'node:util';
import { parseTime } from '../replay/simulate-command.js';
import { formatCalibrationReplay, REPLAY_QUERY, type CalibrationReplayView } from './format-calibration-replay.js';
import type { CalibrationReport, RatioSummary } from './report.js';
import { table } from './text-table.js';

export const CALIBRATE_USAGE =
  'usage: npm run cost -- calibrate [--url <gateway url>] [--token <platform admin key>] [--min-lists <n>] [--replay [--from <time>] [--to <time>] [--each]]\n' +
  '  time: ISO 8601, epoch ms, now, now-<n>(s|m|h|d); default the last hour';

/** A problem the user can fix: printed without a stack. */
export class CalibrateError extends Error {}

const QUERY = `query Calibration($minLists: Int) { costCalibration(minLists: $minLists) {
  responses operations operationsDropped
  fields { coordinate source assumedSize lists p50 p95 max mean meanPriced longerThanPriced suggestedAssumedSize reason }
  current { medianRatio p95Ratio estimated actual }
  suggested { medianRatio p95Ratio estimated actual }
  effects { coordinate from to requestsChanged estimatedBefore estimatedAfter }
} }`;

export async function calibrateCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'min-lists': { type: 'string' },
      replay: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      each: { type: 'boolean' },
    },
    strict: true,
  });
  const url = values.url ?? 'http://localhost:4000';
  const token = values.token ?? env.GATEWAY_TOKEN;
  if (!token) throw new CalibrateError(`a platform admin key is required: --token or GATEWAY_TOKEN\n${CALIBRATE_USAGE}`);
  const minLists = values['min-lists'] === undefined ? 20 : Number(values['min-lists']);
  if (!Number.isInteger(minLists) || minLists < 1) throw new CalibrateError(`--min-lists must be a positive integer: ${values['min-lists']}`);
  if (!values.replay) {
    if (values.from !== undefined || values.to !== undefined || values.each)
      throw new CalibrateError(`--from, --to and --each go with --replay\n${CALIBRATE_USAGE}`);
    const data = await ask<{ costCalibration?: CalibrationReport }>(url, token, QUERY, { minLists }, 30_000);
    if (!data.costCalibration) throw new CalibrateError(`the gateway at ${url} gave no calibration`);
    return formatReport(data.costCalibration);
  }
  const now = Date.now();
  const from = timeOption(values.from ?? 'now-1h', now, '--from');
  const to = timeOption(values.to ?? 'now', now, '--to');
  const variables = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), minLists, eachSuggestion: values.each ?? false };
  // A replay of a busy week takes its time on the gateway (1,000,000 decisions at most).
  const data = await ask<{ costCalibrationReplay?: CalibrationReplayView }>(url, token, REPLAY_QUERY, variables, 300_000);
  if (!data.costCalibrationReplay) throw new CalibrateError(`the gateway at ${url} gave no calibration replay`);
  return formatCalibrationReplay(data.costCalibrationReplay);
}

/** One GraphQL request to the gateway; its data, or a CalibrateError that says why not. */
async function ask<T>(url: string, token: string, query: string, variables: Record<string, unknown>, timeoutMs: number): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL('/graphql', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CalibrateError(`cannot reach the gateway at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await response.json().catch(() => null)) as { data?: T | null; errors?: { message: string }[] } | null;
  if (!body?.data) {
    const reason = body?.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`;
    throw new CalibrateError(`the gateway at ${url} gave no calibration: ${reason}`);
  }
  return body.data;
}

function timeOption(text: string, now: number, option: string): number {
  try {
    return parseTime(text, now, option);
  } catch (err) {
    throw new CalibrateError(err instanceof Error ? err.message : String(err));
  }
}

/** The report as text: fields, the suggested edits, the ratios before and after, each suggestion's effect. */
export function formatReport(report: CalibrationReport): string {
  const lines = [
    `${report.responses} responses observed, ${report.operations} distinct operations${report.operationsDropped ? ` (${report.operationsDropped} not kept)` : ''}`,
    '',
  ];
  lines.push(
    ...table(
      ['field', 'sized by', 'priced', 'lists', 'p50', 'p95', 'max', 'longer than priced', 'suggest'],
      report.fields.map((f) => [
        f.coordinate,
        f.source,
        f.assumedSize === null ? 'asked' : String(f.assumedSize),
        String(f.lists),
        String(f.p50),
        String(f.p95),
        String(f.max),
        `${Math.round(f.longerThanPriced * 100)} %`,
        f.suggestedAssumedSize === null ? '-' : String(f.suggestedAssumedSize),
      ]),
    ),
    '',
  );
  const edits = report.fields.filter((f) => f.suggestedAssumedSize !== null);
  if (edits.length === 0) lines.push('No @listSize change suggested.');
  else {
    lines.push('Suggested edits in schema/*.graphql:');
    for (const f of edits) lines.push(`  ${f.coordinate}: @listSize(assumedSize: ${f.suggestedAssumedSize})   # ${f.reason}`);
  }
  lines.push('', `estimated / actual today:      ${ratio(report.current)}`, `with the suggestions applied:  ${ratio(report.suggested)}`);
  if (report.effects.length > 0) {
    lines.push('', 'Each suggestion alone, on the observed requests:');
    lines.push(
      ...table(
        ['field', 'assumedSize', 'requests changed', 'estimated before', 'after', 'change'],
        report.effects.map((e) => [
          e.coordinate,
          `${e.from} -> ${e.to}`,
          String(e.requestsChanged),
          String(e.estimatedBefore),
          String(e.estimatedAfter),
          e.estimatedBefore === 0
            ? '-'
            : `${e.estimatedAfter >= e.estimatedBefore ? '+' : ''}${Math.round(((e.estimatedAfter - e.estimatedBefore) / e.estimatedBefore) * 1000) / 10} %`,
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function ratio(summary: RatioSummary): string {
  if (summary.medianRatio === null) return 'no executed request with an actual cost above 0';
  return `median ${summary.medianRatio}, p95 ${summary.p95Ratio} (estimated ${summary.estimated} for actual ${summary.actual})`;
}
