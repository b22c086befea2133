import { useState } from 'preact/hooks';
import { request } from '../api';
import { count, when } from '../format';
import { CostCalibrationReplayDocument, type CostCalibrationReplayQuery, type CostLimitSideFieldsFragment } from '../generated/operations';

type Replay = CostCalibrationReplayQuery['costCalibrationReplay'];
type Tenant = Replay['sets'][number]['tenants'][number];

const PERIODS = [
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
] as const;

/**
 * Tenants near their cost limits (issue 23): the suggestions replayed on the request record
 * (`costCalibrationReplay`, the same as `npm run cost -- calibrate --replay`), each tenant's cost
 * refusals, peak cost use and headroom as recorded and with the suggested sizes. Run on demand:
 * a replay reads the whole period, so the page does not poll it.
 */
export function CostLimitReplay(props: { apiKey: string }) {
  const [period, setPeriod] = useState<string>('1h');
  const [result, setResult] = useState<Replay | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);

  const run = async () => {
    const span = PERIODS.find(([id]) => id === period)![2];
    const to = new Date();
    setRunning(true);
    setError(null);
    try {
      const data = await request(props.apiKey, CostCalibrationReplayDocument, {
        from: new Date(to.getTime() - span).toISOString(),
        to: to.toISOString(),
        minLists: 20,
      });
      setResult(data.costCalibrationReplay);
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    } finally {
      setRunning(false);
    }
  };

  const all = result?.sets[0];
  const kept = result ? result.notRepriced.noOperation + result.notRepriced.notKept + result.notRepriced.unpriceable : 0;
  return (
    <section class="card" aria-labelledby="cost-limits-title" data-panel="calibration-replay">
      <h2 id="cost-limits-title">Tenants near their cost limits</h2>
      <p class="muted">
        Replays the recorded requests of the period against the plans that were live, as recorded and with every suggested size: each request's estimate is its
        operation priced again, its actual cost as recorded.
      </p>
      <form
        class="controls"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label>
          Period
          <select aria-label="Replay period" value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
            {PERIODS.map(([id, label]) => (
              <option value={id} key={id}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={running}>
          {running ? 'Replaying…' : 'Replay with the suggestions'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert" data-testid="calibration-replay-error">
          {error}
        </p>
      )}
      {result && all && (
        <>
          <p data-testid="calibration-replay-summary">
            {count(result.records)} recorded requests from {when(result.from)} to {when(result.to)} replayed
            {result.truncated ? ` (stopped at the bound of ${count(result.maxRecords)})` : ''}; {count(result.repriced)} priced again
            {kept > 0
              ? `, ${count(kept)} kept their recorded estimate (${count(result.notRepriced.noOperation)} name no operation, ${count(result.notRepriced.notKept)} operation not kept, ${count(result.notRepriced.unpriceable)} no longer priceable)`
              : ''}
            . Estimated {count(result.estimatedBefore)} → {count(all.estimated)}; cost refusals {count(all.costRefusedBefore)} → {count(all.costRefusedAfter)}.
          </p>
          {all.sizes.length === 0 && <p>No @listSize change suggested: “after” prices the recorded operations on today's schema as it is.</p>}
          {all.tenants.length === 0 ? (
            <p data-testid="calibration-replay-none">No tenant was refused by a cost limit or used 80% of its cost points per minute, either way.</p>
          ) : (
            <table class="data" data-testid="calibration-replay-tenants">
              <thead>
                <tr>
                  <th scope="col" rowSpan={2}>
                    Tenant
                  </th>
                  <th scope="col" rowSpan={2}>
                    Cost points / minute
                  </th>
                  <th scope="colgroup" colSpan={2}>
                    Refused by a cost limit
                  </th>
                  <th scope="colgroup" colSpan={2}>
                    Peak use (headroom)
                  </th>
                  <th scope="col" rowSpan={2}>
                    Not priced again
                  </th>
                </tr>
                <tr>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {all.tenants.map((t) => (
                  <TenantRow tenant={t} key={t.tenantId} />
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function TenantRow(props: { tenant: Tenant }) {
  const t = props.tenant;
  return (
    <tr data-tenant={t.tenantId}>
      <th scope="row">
        {t.tenantId} <span class="muted">({t.plans.join(', ')})</span>
      </th>
      <td>{count(t.costPerMinute)}</td>
      <td data-col="refused-before">{count(t.before.costRefused)}</td>
      <td data-col="refused-after">{count(t.after.costRefused)}</td>
      <td data-col="peak-before">{peakText(t.before)}</td>
      <td data-col="peak-after">{peakText(t.after)}</td>
      <td>
        {count(t.notRepriced)} of {count(t.requests)}
      </td>
    </tr>
  );
}

/** Peak cost points in use, with the headroom left; a dash for a tenant without a cost-per-minute limit. */
function peakText(side: CostLimitSideFieldsFragment): string {
  return side.peak === null ? '–' : `${count(side.peak)} (${count(side.headroom)})`;
}
