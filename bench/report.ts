import type { VariantResult } from './measure.js';

/** What a scenario hands back to be printed. */
export interface ScenarioReport {
  title: string;
  /** Name of the variant every ratio is computed against (measured in the same run). */
  baseline: string;
  /** Empty for a scenario that counts rather than times: only `notes` and the verdict are printed. */
  variants: VariantResult[];
  /** The scenario's own judgement against its target; overridden by INVALID when requests failed. */
  verdict: { met: boolean; line: string };
  /** Further lines worth printing under the table (checks, noise, caveats). */
  notes?: string[];
}

/**
 * Prints one scenario's table: per variant its requests and medians, then ratios against the
 * baseline (req/s ×: above 1 is faster; p50 ×, p99 ×: above 1 is slower) and the added latency in
 * ms. Returns false when any request failed: such a run measured errors, not the feature.
 */
export function printReport(report: ScenarioReport, write: (line: string) => void = console.log): boolean {
  if (report.variants.length === 0) {
    // A scenario that counts rather than times (exactness): its lines and its verdict.
    write('');
    write(`== ${report.title}`);
    for (const note of report.notes ?? []) write(note);
    write(`verdict: ${report.verdict.met ? 'MET' : 'MISSED'}: ${report.verdict.line}`);
    return true;
  }
  const base = report.variants.find((v) => v.name === report.baseline);
  if (!base) throw new Error(`baseline "${report.baseline}" is not one of the variants: ${report.variants.map((v) => v.name).join(', ')}`);

  const header = ['variant', 'runs', 'requests', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'req/s ×', 'p50 ×', 'p99 ×', '+p50 ms', '+p99 ms'];
  const rows = report.variants.map((v) => {
    const m = v.median;
    const isBase = v === base;
    return [
      v.name + (isBase ? ' (baseline)' : ''),
      String(v.runs.length),
      String(m.requests),
      String(m.errors),
      m.throughput.toFixed(0),
      m.p50.toFixed(2),
      m.p99.toFixed(2),
      ratio(m.throughput, base.median.throughput),
      ratio(m.p50, base.median.p50),
      ratio(m.p99, base.median.p99),
      isBase ? '-' : signed(m.p50 - base.median.p50),
      isBase ? '-' : signed(m.p99 - base.median.p99),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

  write('');
  write(`== ${report.title}`);
  write(line(header));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) write(line(row));
  write('medians over the runs; requests and errors are totals. per run (req/s, p50, p99 ms):');
  for (const v of report.variants) {
    write(`  ${v.name.padEnd(widths[0]!)}  ${v.runs.map((r) => `${r.throughput.toFixed(0)} / ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}`).join('  |  ')}`);
  }
  for (const note of report.notes ?? []) write(note);

  const failed = report.variants.filter((v) => v.median.errors > 0);
  if (failed.length > 0) {
    write('');
    write('!!! INVALID: requests failed, so these numbers measure errors, not the feature:');
    for (const v of failed) {
      const statuses = Object.entries(v.median.statuses)
        .map(([status, count]) => `${status}×${count}`)
        .join(', ');
      write(`!!!   ${v.name}: ${v.median.errors} of ${v.median.requests} failed (HTTP statuses: ${statuses || 'none'}); first: ${v.median.firstError ?? '?'}`);
    }
    write(`verdict: INVALID (${report.verdict.line})`);
    return false;
  }
  write(`verdict: ${report.verdict.met ? 'MET' : 'MISSED'}: ${report.verdict.line}`);
  return true;
}

function ratio(value: number, base: number): string {
  return base > 0 && Number.isFinite(value) ? `${(value / base).toFixed(2)}` : 'n/a';
}

/** A difference with its sign: `+0.12`, `-0.03`. */
export function signed(ms: number, digits = 2): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(digits)}`;
}
