import { useState } from 'preact/hooks';
import type { PortalSlaFieldsFragment } from '../generated/operations';
import { count, ms } from '../format';
import { usePolling } from '../usePolling';

type Period = NonNullable<PortalSlaFieldsFragment['sla']>['total'];

/** The last 12 UTC months, newest first, as `YYYY-MM`. */
function recentMonths(now = new Date()): string[] {
  return Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7));
}

const availability = (p: Period) => (p.availability == null ? 'no traffic' : `${p.availability.toFixed(3)}%`);
const status = (p: Period) => (p.breached.length === 0 ? 'met' : `missed: ${p.breached.join(', ')}`);

/** SLA against the plan's targets, per day and for the month, with the breaches; hidden when the plan has none. */
export function SlaPanel(props: { sourceId: string; load: (month: string | null) => Promise<PortalSlaFieldsFragment>; enabled: boolean }) {
  const months = recentMonths();
  const [month, setMonth] = useState(months[0]!);
  const sla = usePolling(() => props.load(month), [props.sourceId, month], 60_000, props.enabled);
  if (sla.error) {
    return (
      <p class="error" role="alert">
        Could not load the SLA: {sla.error}
      </p>
    );
  }
  const report = sla.data?.sla;
  if (!report) return null;
  const { total } = report;
  return (
    <section class="card" aria-labelledby="sla-title" data-panel="sla">
      <h2 id="sla-title">Service levels</h2>
      <div class="controls">
        <label>
          Month (UTC)
          <select aria-label="Month (UTC)" value={month} onChange={(e) => setMonth((e.target as HTMLSelectElement).value)}>
            {months.map((m) => (
              <option value={m} key={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <span>
          Targets: availability ≥ <strong>{report.target.availability}%</strong>, p95 latency ≤ <strong>{ms(report.target.latencyP95Ms)}</strong>
        </span>
      </div>
      <p class={`sla-total ${total.breached.length ? 'error' : 'ok'}`} data-testid="sla-month">
        {report.month}: availability {availability(total)}, p95 {ms(total.latencyP95Ms)} over {count(total.counted)} requests — {status(total)}
      </p>
      {report.breaches.length > 0 && (
        <>
          <h3>Days that missed a target</h3>
          <ul class="breaches" data-testid="sla-breaches">
            {report.breaches.map((d) => (
              <li key={d.start}>
                {d.start.slice(0, 10)}: {status(d)} (availability {availability(d)}, {count(d.failures)} failures of {count(d.counted)}; p95{' '}
                {ms(d.latencyP95Ms)})
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>Every day</summary>
        <table class="data" data-table="sla-days">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Requests counted</th>
              <th scope="col">Failures</th>
              <th scope="col">Availability</th>
              <th scope="col">p95</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {report.days.map((d) => (
              <tr key={d.start} class={d.breached.length ? 'flagged' : ''}>
                <th scope="row">{d.start.slice(0, 10)}</th>
                <td>{count(d.counted)}</td>
                <td>{count(d.failures)}</td>
                <td>{availability(d)}</td>
                <td>{ms(d.latencyP95Ms)}</td>
                <td>{status(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <p class="muted small">What counts: {report.definition}</p>
    </section>
  );
}
