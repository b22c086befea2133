import { count, when } from '../format';
import type { PlanReplayQuery } from '../generated/operations';

type Replay = PlanReplayQuery['planReplay'];
type TenantReplay = Replay['tenants'][number];

/** The What if result: who the proposal refuses, by which limit and from when, and how close each limit came. */
export function ReplayReport(props: { replay: Replay }) {
  const { replay } = props;
  const refused = replay.tenants.filter((t) => t.refused > 0);
  return (
    <section class="card" aria-labelledby="replay-title" data-panel="replay-report">
      <h2 id="replay-title">What the proposal would have done</h2>
      <p class="muted" data-testid="replay-summary">
        {count(replay.records)} recorded requests from {when(replay.from)} to {when(replay.to)} replayed
        {replay.truncated ? ` (stopped at the bound of ${count(replay.maxRecords)}: narrow the period, or use npm run simulate)` : ''}; {count(replay.changed)}{' '}
        decided otherwise than live. {refused.length} of {replay.tenantCount} tenants would be refused.
      </p>
      {replay.tenants.length === 0 ? (
        <p>No recorded request in this period: is the request record on (config record.enabled)?</p>
      ) : (
        <table class="data" data-testid="replay-tenants">
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Plan</th>
              <th scope="col">Requests</th>
              <th scope="col">Would be refused</th>
              <th scope="col">By limit</th>
              <th scope="col">From</th>
              <th scope="col">Refused live</th>
              <th scope="col">Peak use / limit (headroom)</th>
            </tr>
          </thead>
          <tbody>
            {replay.tenants.map((t) => (
              <TenantRow tenant={t} key={t.tenantId} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TenantRow(props: { tenant: TenantReplay }) {
  const t = props.tenant;
  return (
    <tr data-tenant={t.tenantId}>
      <th scope="row">{t.tenantId}</th>
      <td>{t.plans.join(', ')}</td>
      <td>{count(t.requests)}</td>
      <td data-col="refused">
        {count(t.refused)} ({share(t.refused, t.requests)})
      </td>
      <td data-col="refused-by">{t.refusedBy.map((r) => `${r.policy} ${count(r.count)}`).join(', ') || '–'}</td>
      <td>{t.firstRefusalAt ? when(t.firstRefusalAt) : '–'}</td>
      <td>{count(t.liveRefused)}</td>
      <td data-col="limits">
        {t.limits.map((u) => (
          <div key={u.policy} class={u.headroom === 0 ? 'error' : undefined}>
            {u.policy}: {count(u.peak)} / {count(u.limit)} ({u.headroom === 0 ? 'no headroom' : `${count(u.headroom)} left`})
          </div>
        ))}
      </td>
    </tr>
  );
}

function share(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(part === 0 || part === whole ? 0 : 1)}%`;
}
