import type { ConsoleOverviewQuery } from '../generated/operations';
import { count, ms } from '../format';
import { hrefOf } from '../route';

type AdmissionNow = NonNullable<ConsoleOverviewQuery['fleetUsage']['health']['admission']>;

/**
 * Who fair admission is queueing or shedding right now, on the instance that answered: its load
 * now, then per tenant, plan and priority class the requests that waited, were shed (503: the
 * instance was saturated) or refused over their own share (429) in the last minute.
 */
export function AdmissionNowPanel(props: { admission: AdmissionNow }) {
  const { inFlight, limit, queued, tenantsWaiting, recent } = props.admission;
  return (
    <section class={`card ${recent.some((r) => r.shed + r.refused > 0) ? 'card--alert' : ''}`} aria-labelledby="admission-title" data-panel="admission">
      <h2 id="admission-title">Queued and shed now</h2>
      <p class="muted small">
        This gateway instance (each instance admits its own requests): {count(inFlight)} of {count(limit)} running, {count(queued)} waiting for a turn,{' '}
        {count(tenantsWaiting)} waiting behind their tenant's own cap. Below: the last minute.
      </p>
      {recent.length === 0 ? (
        <p class="muted">No request waited, was shed or was refused in the last minute.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Plan</th>
              <th scope="col">Priority</th>
              <th scope="col">Queued</th>
              <th scope="col">Longest wait</th>
              <th scope="col">Shed (503)</th>
              <th scope="col">Over own share (429)</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((r) => (
              <tr key={`${r.tenantId}-${r.plan}-${r.priority}`} data-tenant={r.tenantId} data-priority={r.priority}>
                <th scope="row">
                  <a href={hrefOf({ page: 'fleet-tenant', tenantId: r.tenantId })}>{r.tenantName}</a>
                </th>
                <td>{r.planName}</td>
                <td>{r.priority}</td>
                <td data-col="queued">{count(r.queued)}</td>
                <td>{r.queued > 0 ? ms(r.maxWaitMs) : '–'}</td>
                <td data-col="shed">{count(r.shed)}</td>
                <td data-col="refused">{count(r.refused)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
