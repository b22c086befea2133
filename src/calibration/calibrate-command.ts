/**
 * `npm run cost -- calibrate [--url http://localhost:4000] [--token <platform admin key>] [--min-lists 20]`:
 * asks a running gateway for its cost calibration (the platform-admin `costCalibration` query)
 * and prints, per list field, what was returned against what is priced, the `@listSize` edits
 * it suggests, and what they would do to estimated costs. The token may come from
 * `GATEWAY_TOKEN` instead of `--token` (it stays out of the shell history).
 */
import { parseArgs } from 'node:util';
import type { CalibrationReport, RatioSummary } from './report.js';

export const CALIBRATE_USAGE = 'usage: npm run cost -- calibrate [--url <gateway url>] [--token <platform admin key>] [--min-lists <n>]';

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
  const { values } = parseArgs({ args: argv, options: { url: { type: 'string' }, token: { type: 'string' }, 'min-lists': { type: 'string' } }, strict: true });
  const url = values.url ?? 'http://localhost:4000';
  const token = values.token ?? env.GATEWAY_TOKEN;
  if (!token) throw new CalibrateError(`a platform admin key is required: --token or GATEWAY_TOKEN\n${CALIBRATE_USAGE}`);
  const minLists = values['min-lists'] === undefined ? 20 : Number(values['min-lists']);
  if (!Number.isInteger(minLists) || minLists < 1) throw new CalibrateError(`--min-lists must be a positive integer: ${values['min-lists']}`);

  let response: Response;
  try {
    response = await fetch(new URL('/graphql', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY, variables: { minLists } }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CalibrateError(`cannot reach the gateway at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await response.json().catch(() => null)) as { data?: { costCalibration?: CalibrationReport }; errors?: { message: string }[] } | null;
  const report = body?.data?.costCalibration;
  if (!report) {
    const reason = body?.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`;
    throw new CalibrateError(`the gateway at ${url} gave no calibration: ${reason}`);
  }
  return formatReport(report);
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

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
