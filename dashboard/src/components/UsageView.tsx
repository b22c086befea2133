import { useState } from 'preact/hooks';
import type { PortalForecastFieldsFragment, PortalNowFieldsFragment, PortalSlaFieldsFragment, UsageGranularity } from '../generated/operations';
import { SlaPanel } from './SlaPanel';
import { download, exportName } from '../export';
import { historyCsv } from '../history-csv';
import { warningsOf } from '../warnings';
import { ForecastPanel } from './ForecastPanel';
import { count, bytes } from '../format';
import { DEFAULT_SELECTION, GRANULARITIES, historyVariables, RANGES, type HistoryData, type HistorySelection, type RangeId } from '../history';
import { usePolling } from '../usePolling';
import { Breakdown } from './Breakdown';
import { Gauges } from './Gauges';
import { HistoryCharts } from './HistoryCharts';
import { ChoiceSelect } from './ChoiceSelect';

export type NowData = PortalNowFieldsFragment;
export type HistoryVariables = ReturnType<typeof historyVariables>;

/** Where a usage view reads from: the tenant's own `usage`, or `fleetUsage.tenant(id)` for the platform team. */
export interface UsageSource {
  /** Changes when the source does (another tenant), so the view reloads. */
  id: string;
  now(): Promise<NowData>;
  history(variables: HistoryVariables): Promise<HistoryData>;
  forecast(): Promise<PortalForecastFieldsFragment>;
  /** `month`: `YYYY-MM`, null for the current one. */
  sla(month: string | null): Promise<PortalSlaFieldsFragment>;
  /**
   * A history already requested for `selection` (the page's first, sent before it rendered) with
   * the variables it was asked with; null to ask `history`.
   */
  prefetchedHistory?(selection: HistorySelection): { variables: HistoryVariables; data: Promise<HistoryData> } | null;
}

/** Live windows refresh every 5 s; history every 30 s (the meter flushes every second). */
const NOW_REFRESH_MS = 5_000;
const HISTORY_REFRESH_MS = 30_000;

/** The body of a tenant's portal: plan and limits, live windows, history graphs and breakdowns. */
export function UsageView(props: { source: UsageSource }) {
  const { source } = props;
  const now = usePolling(() => source.now(), [source.id], NOW_REFRESH_MS);
  const [selection, setSelection] = useState<HistorySelection>(DEFAULT_SELECTION);
  const [variables, setVariables] = useState<HistoryVariables | null>(null);
  const history = usePolling(
    () => {
      const prefetched = source.prefetchedHistory?.(selection) ?? null;
      const vars = prefetched?.variables ?? historyVariables(selection);
      setVariables(vars);
      return prefetched?.data ?? source.history(vars);
    },
    [source.id, selection],
    HISTORY_REFRESH_MS,
  );
  // The forecast and the SLA wait for the gauges and the history: the first render with data
  // does not share the gateway's time with them.
  const firstDataShown = now.data !== null && history.data !== null;
  const forecast = usePolling(() => source.forecast(), [source.id], HISTORY_REFRESH_MS, firstDataShown);
  const warnings = now.data ? warningsOf(now.data.windows, forecast.data?.forecast ?? []) : [];

  const exportHistory = (ext: 'csv' | 'json') => {
    if (!history.data || !now.data || !variables) return;
    const name = exportName(
      {
        tenant: now.data.tenant.id,
        granularity: variables.granularity,
        from: variables.from,
        filter: selection.filter ? `${selection.filter.kind}-${selection.filter.key}` : null,
      },
      ext,
    );
    if (ext === 'csv') download(name, 'text/csv;charset=utf-8', historyCsv(history.data.history, variables.granularity));
    else {
      const body = {
        tenant: now.data.tenant.id,
        granularity: variables.granularity,
        from: variables.from,
        to: variables.to,
        filter: selection.filter,
        points: history.data.history,
      };
      download(name, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
    }
  };

  const setRange = (range: RangeId) => setSelection((s) => ({ ...s, range, granularity: RANGES.find((r) => r.id === range)!.granularity }));
  const setGranularity = (granularity: UsageGranularity) => setSelection((s) => ({ ...s, granularity }));
  const setFilter = (kind: 'client' | 'rootField') => (key: string | null) => setSelection((s) => ({ ...s, filter: key === null ? null : { kind, key } }));

  return (
    <div class="usage-view">
      {now.error && (
        <p class="error" role="alert">
          Could not load the current limits: {now.error}
        </p>
      )}
      {warnings.length > 0 && (
        <div class={`banner banner--${warnings.some((w) => w.level === 'full') ? 'full' : 'warn'}`} role="alert" data-panel="warnings">
          <strong>{warnings.some((w) => w.level === 'full') ? 'A limit is reached' : 'Approaching a limit'}</strong>
          <ul>
            {warnings.map((w) => (
              <li key={w.text} data-level={w.level}>
                {w.text}
              </li>
            ))}
          </ul>
        </div>
      )}
      {now.data?.syntheticHistory && <SyntheticBanner note={now.data.syntheticHistory.note} />}
      {now.data && (
        <>
          <section class="card plan" aria-labelledby="plan-title">
            <h2 id="plan-title">
              <span data-testid="tenant-name">{now.data.tenant.displayName}</span> · <span data-testid="plan-name">{now.data.limits.plan.displayName}</span>{' '}
              plan
            </h2>
            <PlanLimits data={now.data} />
          </section>
          <section class="card" aria-labelledby="windows-title">
            <h2 id="windows-title">Limits now</h2>
            <Gauges windows={now.data.windows} />
          </section>
        </>
      )}
      {forecast.data && forecast.data.forecast.length > 0 && <ForecastPanel forecasts={forecast.data.forecast} />}
      {forecast.error && (
        <p class="error" role="alert">
          Could not load the forecast: {forecast.error}
        </p>
      )}
      <SlaPanel sourceId={source.id} load={(month) => source.sla(month)} enabled={firstDataShown} />
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <div class="controls">
          <ChoiceSelect label="Range" value={selection.range} choices={RANGES} onChange={setRange} />
          <ChoiceSelect label="Granularity" value={selection.granularity} choices={GRANULARITIES} onChange={setGranularity} />
          {selection.filter && (
            <span class="filter-chip">
              Showing {selection.filter.kind === 'client' ? 'API key' : 'root field'} <strong>{selection.filter.key}</strong> only{' '}
              <button type="button" class="link" onClick={() => setSelection((s) => ({ ...s, filter: null }))}>
                Show all
              </button>
            </span>
          )}
          <span class="export">
            <button type="button" onClick={() => exportHistory('csv')} disabled={!history.data}>
              Export CSV
            </button>
            <button type="button" onClick={() => exportHistory('json')} disabled={!history.data}>
              Export JSON
            </button>
          </span>
          {history.loading && <span class="muted">Loading…</span>}
        </div>
        {history.error && (
          <p class="error" role="alert">
            {history.error}
          </p>
        )}
        {history.data && <HistoryCharts points={history.data.history} />}
      </section>
      {history.data && (
        <div class="breakdowns">
          <Breakdown
            id="by-root-field"
            title="By root field"
            keyHeading="Root field"
            rows={history.data.byRootField}
            selected={selection.filter?.kind === 'rootField' ? selection.filter.key : null}
            onSelect={setFilter('rootField')}
          />
          <Breakdown
            id="by-client"
            title="By API key"
            keyHeading="API key"
            rows={history.data.byClient}
            selected={selection.filter?.kind === 'client' ? selection.filter.key : null}
            onSelect={setFilter('client')}
          />
        </div>
      )}
    </div>
  );
}

function PlanLimits(props: { data: NowData }) {
  const l = props.data.limits;
  const rows: [string, string][] = [
    ['Requests per minute', limit(l.requestsPerMinute)],
    ['Requests per day', limit(l.requestsPerDay)],
    ['Requests per month', limit(l.requestsPerMonth)],
    ['Cost points per minute', limit(l.costPerMinute)],
    ['Largest cost of one operation', limit(l.maxOperationCost)],
    ['Response bytes per hour', l.responseBytesPerHour == null ? 'not limited' : bytes(l.responseBytesPerHour)],
    ['Share of the minute one API key may use', l.perClientShare == null ? 'not limited' : `${Math.round(l.perClientShare * 100)}%`],
    ['Requests per minute from one IP', limit(l.perIpPerMinute)],
  ];
  return (
    <dl class="limits">
      {rows.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
      <div>
        <dt>Quota time zone</dt>
        <dd>{props.data.tenant.timeZone}</dd>
      </div>
    </dl>
  );
}

const limit = (v: number | null) => (v == null ? 'not limited' : count(v));

/** The label over made-up demo history: it must never pass for real usage. */
export function SyntheticBanner(props: { note: string }) {
  return (
    <p class="banner banner--info" data-testid="synthetic-banner">
      <strong>Synthetic data.</strong> {props.note}
    </p>
  );
}
