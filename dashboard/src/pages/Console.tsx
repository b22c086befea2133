import { useMemo, useState } from 'preact/hooks';
import { request } from '../api';
import { ConsoleOverviewDocument, type ConsoleOverviewQuery, type FleetFilter, type UsageGranularity, type UsageStatusFilter } from '../generated/operations';
import { bytes, count, ms, percent } from '../format';
import { GRANULARITIES, matchingRequests, RANGES, statusLabel, type RangeId, type StatusFilter } from '../history';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { usePolling } from '../usePolling';
import { HistoryCharts } from '../components/HistoryCharts';
import { SyntheticBanner } from '../components/UsageView';
import { LimitChanges } from '../components/LimitChanges';
import { ConsoleHeader } from './ConsoleHeader';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { AdmissionNowPanel } from '../components/AdmissionNowPanel';

type Overview = ConsoleOverviewQuery['fleetUsage'];

interface Filters {
  tenantId: string;
  plan: string;
  client: string;
  rootField: string;
  /** '', OK, ERROR, THROTTLED or THROTTLED:<dimension>. */
  status: string;
  range: RangeId;
  granularity: UsageGranularity;
}

const DIMENSIONS = ['requests', 'quota', 'cost', 'bandwidth', 'field'];

function toFilter(f: Filters): FleetFilter {
  const filter: FleetFilter = {};
  if (f.tenantId) filter.tenantId = f.tenantId;
  if (f.plan) filter.plan = f.plan;
  if (f.client) filter.client = f.client;
  if (f.rootField) filter.rootField = f.rootField;
  if (f.status) {
    const [status, dimension] = f.status.split(':');
    filter.status = status as UsageStatusFilter;
    if (dimension) filter.throttledBy = dimension;
  }
  return filter;
}

/** The platform console: fleet health, history, plans, top consumers, root fields, anomalies, limit changes. */
export function Console(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const [filters, setFilters] = useState<Filters>({ tenantId: '', plan: '', client: '', rootField: '', status: '', range: '24h', granularity: 'HOUR' });
  const variables = useMemo(() => {
    const range = RANGES.find((r) => r.id === filters.range)!;
    const now = Date.now();
    return { filter: toFilter(filters), granularity: filters.granularity, from: new Date(now - range.ms).toISOString(), to: new Date(now).toISOString() };
  }, [filters]);
  const overview = usePolling(async () => (await request(apiKey, ConsoleOverviewDocument, variables)).fleetUsage, [apiKey, variables], 15_000);
  const data = overview.data;
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut} />
      {overview.error && (
        <div class="banner banner--full" role="alert">
          <p>The gateway refused the platform console's data; this page is for platform-admin keys.</p>
          <p class="error" data-testid="console-error">
            {overview.error}
          </p>
        </div>
      )}
      {data && (
        <>
          {data.syntheticHistory && <SyntheticBanner note={data.syntheticHistory.note} />}
          <Health health={data.health} />
          {data.health.admission && <AdmissionNowPanel admission={data.health.admission} />}
          <section class="card" aria-labelledby="filters-title">
            <h2 id="filters-title">Filters</h2>
            <form class="controls" onSubmit={(e) => e.preventDefault()}>
              <label>
                Tenant
                <select aria-label="Tenant" value={filters.tenantId} onChange={(e) => set({ tenantId: (e.target as HTMLSelectElement).value, client: '' })}>
                  <option value="">All tenants</option>
                  {data.directory.map((t) => (
                    <option value={t.id} key={t.id}>
                      {t.displayName}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Plan
                <select aria-label="Plan" value={filters.plan} onChange={(e) => set({ plan: (e.target as HTMLSelectElement).value })}>
                  <option value="">All plans</option>
                  {[...new Map(data.directory.map((t) => [t.plan, t.planName]))]
                    .sort(([, a], [, b]) => a.localeCompare(b))
                    .map(([id, name]) => (
                      <option value={id} key={id}>
                        {name}
                      </option>
                    ))}
                </select>
              </label>
              <label>
                API key
                <select aria-label="API key" value={filters.client} onChange={(e) => set({ client: (e.target as HTMLSelectElement).value, rootField: '' })}>
                  <option value="">All keys</option>
                  {data.directory
                    .filter((t) => !filters.tenantId || t.id === filters.tenantId)
                    .flatMap((t) => t.clients)
                    .map((c) => (
                      <option value={c} key={c}>
                        {c}
                      </option>
                    ))}
                </select>
              </label>
              <label>
                Root field
                <select
                  aria-label="Root field"
                  value={filters.rootField}
                  onChange={(e) => set({ rootField: (e.target as HTMLSelectElement).value, client: '' })}
                >
                  <option value="">All root fields</option>
                  {[...new Set([...data.rootFields.map((r) => r.key), ...(filters.rootField ? [filters.rootField] : [])])].map((f) => (
                    <option value={f} key={f}>
                      {f}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Status
                <select aria-label="Status" value={filters.status} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value })}>
                  <option value="">Any status</option>
                  <option value="OK">ok</option>
                  <option value="ERROR">error</option>
                  <option value="THROTTLED">throttled (any limit)</option>
                  {DIMENSIONS.map((d) => (
                    <option value={`THROTTLED:${d}`} key={d}>
                      throttled by {d}
                    </option>
                  ))}
                </select>
              </label>
              <ChoiceSelect
                label="Range"
                value={filters.range}
                choices={RANGES}
                onChange={(range) => set({ range, granularity: RANGES.find((r) => r.id === range)!.granularity })}
              />
              <ChoiceSelect label="Granularity" value={filters.granularity} choices={GRANULARITIES} onChange={(granularity) => set({ granularity })} />
              {overview.loading && <span class="muted">Loading…</span>}
            </form>
          </section>
          <Anomalies data={data} />
          <section class="card" aria-labelledby="consumers-title" data-panel="consumers">
            <h2 id="consumers-title">Top consumers</h2>
            <ConsumersTable data={data} statusFiltered={filters.status !== ''} />
          </section>
          <section class="card" aria-labelledby="fleet-history-title">
            <h2 id="fleet-history-title">Fleet over time</h2>
            <HistoryCharts points={data.history} status={filters.status} />
          </section>
          <div class="breakdowns">
            <section class="card" aria-labelledby="plans-title" data-panel="plans">
              <h2 id="plans-title">By plan</h2>
              <TotalsTable heading="Plan" status={filters.status} rows={data.plans.map((p) => ({ key: p.plan, label: p.planName, totals: p.totals }))} />
            </section>
            <section class="card" aria-labelledby="fields-title" data-panel="root-fields">
              <h2 id="fields-title">By root field</h2>
              <TotalsTable heading="Root field" status={filters.status} rows={data.rootFields} />
            </section>
          </div>
        </>
      )}
      {data && <LimitChanges apiKey={apiKey} />}
    </main>
  );
}

function Health(props: { health: Overview['health'] }) {
  const { health } = props;
  const bad = (s: string) => s !== 'ok' && s !== 'closed' && s !== 'not configured' && s !== 'local';
  return (
    <section class="card" aria-labelledby="health-title" data-panel="health">
      <h2 id="health-title">Health now</h2>
      <ul class="health">
        <li class={bad(health.redis) ? 'bad' : ''}>
          Redis: <strong>{health.redis}</strong>
        </li>
        <li class={bad(health.limitStore) ? 'bad' : ''}>
          Limit store: <strong>{health.limitStore}</strong>
        </li>
        {health.downstream.map((d) => (
          <li key={d.service} class={bad(d.breaker) ? 'bad' : ''}>
            {d.service}: <strong>breaker {d.breaker}</strong>{' '}
            <span class="muted">
              ({d.inFlight} in flight, {d.queued} queued)
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Anomalies(props: { data: Overview }) {
  const { anomalies, anomalyRule, directory } = props.data;
  const name = (id: string) => directory.find((t) => t.id === id)?.displayName ?? id;
  return (
    <section class={`card ${anomalies.length > 0 ? 'card--alert' : ''}`} aria-labelledby="anomalies-title" data-panel="anomalies">
      <h2 id="anomalies-title">Anomalies</h2>
      {anomalies.length === 0 ? (
        <p class="muted">No tenant is far above its recent rate.</p>
      ) : (
        <ul>
          {anomalies.map((a) => (
            <li key={a.tenantId}>
              <a href={hrefOf({ page: 'fleet-tenant', tenantId: a.tenantId })}>{name(a.tenantId)}</a>: {count(a.currentPerMinute)} requests in the last minute,{' '}
              {count(a.ratio)}× its baseline of {count(a.baselinePerMinute)} per minute
            </li>
          ))}
        </ul>
      )}
      <p class="muted small">Rule: {anomalyRule}</p>
    </section>
  );
}

function ConsumersTable(props: { data: Overview; statusFiltered: boolean }) {
  const { consumers, anomalies, anomalyRule } = props.data;
  if (consumers.length === 0) return <p class="muted">No requests match the filters in this range.</p>;
  const flagged = new Set(anomalies.map((a) => a.tenantId));
  return (
    <table class="data">
      <thead>
        <tr>
          <th scope="col">Tenant</th>
          <th scope="col">Plan</th>
          {props.statusFiltered && <th scope="col">Matching</th>}
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
          <th scope="col">Throttled</th>
          <th scope="col">Cost</th>
          <th scope="col">Bytes</th>
          <th scope="col">p95</th>
        </tr>
      </thead>
      <tbody>
        {consumers.map((c) => (
          <tr key={c.tenantId} data-tenant={c.tenantId} class={flagged.has(c.tenantId) ? 'flagged' : ''}>
            <th scope="row">
              <a href={hrefOf({ page: 'fleet-tenant', tenantId: c.tenantId })}>{c.tenantName}</a>
              {flagged.has(c.tenantId) && (
                <span class="flag" title={anomalyRule}>
                  {' '}
                  anomaly
                </span>
              )}
            </th>
            <td>{c.planName}</td>
            {props.statusFiltered && <td data-col="matching">{count(c.matching)}</td>}
            <td data-col="requests">{count(c.totals.requests)}</td>
            <td>{count(c.totals.errors)}</td>
            <td>
              {count(c.totals.throttled)} <span class="muted">({percent(c.totals.throttledPercent)})</span>
            </td>
            <td>{count(c.totals.actualCost)}</td>
            <td>{bytes(c.totals.responseBytes)}</td>
            <td>{ms(c.totals.latencyP95Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The By plan and By root field tables. Under a Status filter only the rows with matching
 * requests, most matching first, with a Matching column (as Top consumers).
 */
function TotalsTable(props: { heading: string; status: StatusFilter; rows: { key: string; label?: string; totals: Overview['plans'][number]['totals'] }[] }) {
  const { status } = props;
  const rows = status
    ? props.rows
        .map((r) => ({ ...r, matching: matchingRequests(r.totals, status) }))
        .filter((r) => r.matching > 0)
        .sort((a, b) => b.matching - a.matching)
    : props.rows.map((r) => ({ ...r, matching: r.totals.requests }));
  if (rows.length === 0) return <p class="muted">{status ? `No ${statusLabel(status)} requests in this range.` : 'No requests in this range.'}</p>;
  return (
    <table class="data">
      <thead>
        <tr>
          <th scope="col">{props.heading}</th>
          {status && <th scope="col">Matching</th>}
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
          <th scope="col">Throttled</th>
          <th scope="col">p50</th>
          <th scope="col">p95</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-row={r.key}>
            <th scope="row">{r.label ?? r.key}</th>
            {status && <td data-col="matching">{count(r.matching)}</td>}
            <td>{count(r.totals.requests)}</td>
            <td>{count(r.totals.errors)}</td>
            <td>{percent(r.totals.throttledPercent)}</td>
            <td>{ms(r.totals.latencyP50Ms)}</td>
            <td>{ms(r.totals.latencyP95Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
