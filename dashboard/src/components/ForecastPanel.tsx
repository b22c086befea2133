import { count, when } from '../format';

/** The least history the gateway forecasts from (src/usage/forecast.ts MIN_ACTIVE_HOURS; also in each forecast's method). */
const MIN_ACTIVE_HOURS = 12;
import { periodName, type ForecastEntry } from '../warnings';

const metricName = (f: ForecastEntry) => (f.metric === 'requests' ? 'Requests' : 'Cost points');

/** Each quota's projection at the end of its period, and when it would run out. */
export function ForecastPanel(props: { forecasts: ForecastEntry[] }) {
  const method = props.forecasts[0]?.method;
  return (
    <section class="card" aria-labelledby="forecast-title" data-panel="forecast">
      <h2 id="forecast-title">Forecast</h2>
      <table class="data">
        <thead>
          <tr>
            <th scope="col">Quota</th>
            <th scope="col">Used</th>
            <th scope="col">Limit</th>
            <th scope="col">Projected at period end</th>
            <th scope="col">Runs out</th>
            <th scope="col">Pace now</th>
          </tr>
        </thead>
        <tbody>
          {props.forecasts.map((f) => {
            const over = f.enoughHistory && f.limit != null && f.projected >= f.limit;
            return (
              <tr key={`${f.metric}-${f.period}`} data-forecast={`${f.metric}-${f.period}`} class={over ? 'flagged' : ''}>
                <th scope="row">
                  {metricName(f)}, {periodName(f)} {f.policy ? 'quota' : '(no limit)'}
                  <div class="muted small">period ends {when(f.periodEnd)}</div>
                </th>
                <td>{count(f.used)}</td>
                <td>{f.limit == null ? 'none' : count(f.limit)}</td>
                {f.enoughHistory ? (
                  <>
                    <td data-col="projected">{count(Math.round(f.projected))}</td>
                    <td data-col="exhausts">{f.exhaustsAt ? when(f.exhaustsAt) : f.limit == null ? '–' : 'not this period'}</td>
                    <td>{count(Math.round(f.ratePerHour))} / hour</td>
                  </>
                ) : (
                  // Three requests are no pace: say so rather than project a month from them.
                  <td colSpan={3} data-col="too-little" class="muted">
                    {f.exhaustsAt ? `Used up ${when(f.exhaustsAt)}. ` : ''}Too little history to forecast: {f.activeHours} of the {MIN_ACTIVE_HOURS} hours with
                    traffic it needs.
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {method && <p class="muted small">Method: {method}</p>}
    </section>
  );
}
