import { request } from '../api';
import { CostLimitReplay } from '../components/CostLimitReplay';
import { CostCalibrationDocument, type CostRatioFragment } from '../generated/operations';
import { count } from '../format';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { usePolling } from '../usePolling';
import { ConsoleHeader } from './ConsoleHeader';

const SOURCES: Record<string, string> = {
  assumedSize: 'assumedSize',
  slicingArgument: 'slicing argument',
  parentSlicingArgument: "parent's slicing argument",
  defaultListSize: 'default list size',
};

/**
 * Cost calibration (README: Changing limits safely): per list field what the gateway returned
 * against the size the estimate prices, the `@listSize(assumedSize:)` values to declare, and what
 * they would do to estimated costs, and, replayed on the request record, to the tenants near their
 * cost limits. The same report as `npm run cost -- calibrate` (with `--replay`).
 */
export function Calibration(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const loaded = usePolling(async () => (await request(apiKey, CostCalibrationDocument, { minLists: 20 })).costCalibration, [apiKey], 30_000);
  const report = loaded.data;
  const suggested = report?.fields.filter((f) => f.suggestedAssumedSize !== null) ?? [];
  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut}>
        <a href={hrefOf({ page: 'fleet' })}>← Back to the fleet</a>
      </ConsoleHeader>
      {loaded.error && (
        <div class="banner banner--full" role="alert">
          <p class="error" data-testid="calibration-error">
            {loaded.error}
          </p>
        </div>
      )}
      {report && (
        <>
          <section class="card" aria-labelledby="ratio-title" data-panel="calibration-ratio">
            <h2 id="ratio-title">Estimated against actual cost</h2>
            <p class="muted">
              {count(report.responses)} responses observed by this instance, {count(report.operations)} distinct operations
              {report.operationsDropped > 0 ? ` (${count(report.operationsDropped)} not kept)` : ''}. A ratio of 1 charges what was returned; the target is a
              median from 1 to 1.5.
            </p>
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Priced</th>
                  <th scope="col">Median ratio</th>
                  <th scope="col">p95 ratio</th>
                  <th scope="col">Estimated</th>
                  <th scope="col">Actual</th>
                </tr>
              </thead>
              <tbody>
                <RatioRow label="Today" summary={report.current} />
                <RatioRow label="With the suggestions" summary={report.suggested} />
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="fields-title" data-panel="calibration-fields">
            <h2 id="fields-title">List fields</h2>
            <table class="data" data-testid="calibration-fields">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Sized by</th>
                  <th scope="col">Priced at</th>
                  <th scope="col">Lists</th>
                  <th scope="col">p50</th>
                  <th scope="col">p95</th>
                  <th scope="col">Max</th>
                  <th scope="col">Longer than priced</th>
                  <th scope="col">Suggested assumedSize</th>
                </tr>
              </thead>
              <tbody>
                {report.fields.map((f) => (
                  <tr key={f.coordinate} title={f.reason}>
                    <th scope="row">{f.coordinate}</th>
                    <td>{SOURCES[f.source] ?? f.source}</td>
                    <td>{f.assumedSize ?? 'as asked'}</td>
                    <td>{count(f.lists)}</td>
                    <td>{f.p50}</td>
                    <td>{f.p95}</td>
                    <td>{f.max}</td>
                    <td>{Math.round(f.longerThanPriced * 100)}%</td>
                    <td>{f.suggestedAssumedSize ?? '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="effects-title" data-panel="calibration-effects">
            <h2 id="effects-title">What each suggestion would do</h2>
            {suggested.length === 0 ? (
              <p data-testid="calibration-none">
                No @listSize change suggested: every observed field is priced at its p95, or sized by the slicing argument the client gives.
              </p>
            ) : (
              <>
                <pre data-testid="calibration-edits">
                  {suggested.map((f) => `${f.coordinate}: @listSize(assumedSize: ${f.suggestedAssumedSize})  # ${f.reason}`).join('\n')}
                </pre>
                <table class="data">
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">assumedSize</th>
                      <th scope="col">Requests changed</th>
                      <th scope="col">Estimated before</th>
                      <th scope="col">After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.effects.map((e) => (
                      <tr key={e.coordinate}>
                        <th scope="row">{e.coordinate}</th>
                        <td>
                          {e.from} → {e.to}
                        </td>
                        <td>{count(e.requestsChanged)}</td>
                        <td>{count(e.estimatedBefore)}</td>
                        <td>{count(e.estimatedAfter)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </section>
          <CostLimitReplay apiKey={apiKey} />
        </>
      )}
    </main>
  );
}

function RatioRow(props: { label: string; summary: CostRatioFragment }) {
  const { summary } = props;
  return (
    <tr>
      <th scope="row">{props.label}</th>
      <td>{summary.medianRatio ?? '–'}</td>
      <td>{summary.p95Ratio ?? '–'}</td>
      <td>{count(summary.estimated)}</td>
      <td>{count(summary.actual)}</td>
    </tr>
  );
}
