import type { ProposedPlans } from './proposed-plans.js';
import type { ReplayResult } from './replay-run.js';
import type { LimitUse, TenantReplay } from './tenant-report.js';

/** The replay as a table for a terminal: the tenants it would refuse first, then the rest in a line. */
export function formatReplay(input: { from: number; to: number; proposal: ProposedPlans; result: ReplayResult; top: number; seconds: number }): string {
  const { result } = input;
  const lines = [
    `Replay of ${iso(input.from)} .. ${iso(input.to)} against ${describeProposal(input.proposal)}`,
    `${result.records} recorded requests replayed in ${input.seconds.toFixed(1)} s` +
      `${result.truncated ? ' (stopped at the bound)' : ''}; ${result.changed} decided differently from live.`,
    ...(result.decidedLocally > 0
      ? [`${result.decidedLocally} were decided live by an instance's local fallback (Redis away): replayed as the store would have decided them.`]
      : []),
    '',
  ];
  const refused = result.tenants.filter((t) => t.refused > 0);
  if (result.tenants.length === 0) lines.push('No recorded request in this period (is the record enabled: record.enabled?).');
  else if (refused.length === 0) lines.push(`No tenant would be refused (${result.tenants.length} tenants replayed).`);
  else lines.push(`${refused.length} of ${result.tenants.length} tenants would be refused:`, '');
  const shown = result.tenants.slice(0, input.top);
  for (const tenant of shown) lines.push(...tenantLines(tenant), '');
  if (result.tenants.length > shown.length) lines.push(`... ${result.tenants.length - shown.length} more tenants (--top, or --json for all)`);
  return `${lines.join('\n')}\n`;
}

function tenantLines(t: TenantReplay): string[] {
  const by = Object.entries(t.refusedBy)
    .sort((a, b) => b[1] - a[1])
    .map(([policy, n]) => `${policy} ${n}`)
    .join(', ');
  const head =
    `${t.tenantId} (${t.plans.join(', ')}): ${t.requests} requests, ${t.refused} refused (${percent(t.refused, t.requests)})` +
    `${by ? `: ${by}` : ''}; live refused ${t.liveRefused}${t.held > 0 ? `; ${t.held} held` : ''}`;
  const when = t.firstRefusalAt !== null ? [`  refusals from ${iso(t.firstRefusalAt)} to ${iso(t.lastRefusalAt!)}`] : [];
  const table = [
    ['  limit', 'limit', 'peak use', 'at', 'headroom'],
    ...t.limits.map((u) => [`  ${u.policy}`, String(u.limit), `${u.peak} (${percent(u.peak, u.limit)})`, iso(u.peakAt), headroom(u)]),
  ];
  return [head, ...when, ...columns(table)];
}

function headroom(u: LimitUse): string {
  return u.headroom === 0 ? 'none' : `${u.headroom} (${percent(u.headroom, u.limit)})`;
}

function describeProposal(proposal: ProposedPlans): string {
  const parts = Object.entries(proposal).map(
    ([id, limits]) =>
      `${id} { ${Object.entries(limits)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join(', ')} }`,
  );
  return parts.length > 0 ? parts.join('; ') : 'the plans as they are';
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 1)}%`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
