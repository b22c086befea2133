import { bytes, count, ms } from '../format';
import type { HistoryData } from '../history';

type Row = HistoryData['byClient'][number];

/** Totals per API key or per root field over the range, with a button to graph one row alone. */
export function Breakdown(props: {
  id: string;
  title: string;
  keyHeading: string;
  rows: Row[];
  selected: string | null;
  onSelect: (key: string | null) => void;
}) {
  return (
    <section class="card" aria-labelledby={`${props.id}-title`} data-breakdown={props.id}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      {props.rows.length === 0 ? (
        <p class="muted">No requests in this range.</p>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th scope="col">{props.keyHeading}</th>
              <th scope="col">Requests</th>
              <th scope="col">Errors</th>
              <th scope="col">Throttled</th>
              <th scope="col">Cost</th>
              <th scope="col">Bytes</th>
              <th scope="col">p95</th>
              <th scope="col">
                <span class="visually-hidden">Graph</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => (
              <tr key={row.key} class={props.selected === row.key ? 'selected' : ''}>
                <th scope="row">{row.key}</th>
                <td>{count(row.totals.requests)}</td>
                <td>{count(row.totals.errors)}</td>
                <td>{count(row.totals.throttled)}</td>
                <td>{count(row.totals.actualCost)}</td>
                <td>{bytes(row.totals.responseBytes)}</td>
                <td>{ms(row.totals.latencyP95Ms)}</td>
                <td>
                  {props.selected === row.key ? (
                    <button type="button" class="link" onClick={() => props.onSelect(null)}>
                      Show all
                    </button>
                  ) : (
                    <button type="button" class="link" onClick={() => props.onSelect(row.key)} aria-label={`Graph ${row.key} alone`}>
                      Graph alone
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
