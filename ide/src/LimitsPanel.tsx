import type { Exchange } from './exchange.js';
import { formatAmount, formatDuration } from './format.js';

const secondsUntil = (at: number) => Math.max(0, Math.ceil((at - Date.now()) / 1000));

/** Below the response: the last operation's HTTP status, cost and every rate-limit policy that applied. */
export function LimitsPanel({ exchange }: { exchange: Exchange | null }) {
  if (!exchange) {
    return (
      <section className="limits" aria-label="Cost and limits">
        <p>Run an operation to see its cost and your rate limits. Put your API key in the Headers tab: {'{ "Authorization": "Bearer <key>" }'}</p>
      </section>
    );
  }
  const { cost, limits } = exchange;
  return (
    <section className="limits" aria-label="Cost and limits">
      <p className="summary">
        <strong data-testid="http-status">HTTP {exchange.status}</strong>
        {exchange.refusal && <span className="refusal"> {exchange.refusal}</span>}
        {limits.retryAfterSeconds !== null && <span className="refusal"> · retry after {formatDuration(limits.retryAfterSeconds)}</span>}
        {exchange.requestId && (
          <span className="muted">
            {' '}
            · request id <code>{exchange.requestId}</code>
          </span>
        )}
      </p>
      {cost && (
        <p data-testid="cost">
          Cost: <strong>{cost.requested ?? '?'}</strong> estimated
          {cost.actual !== undefined && (
            <>
              , <strong>{cost.actual}</strong> actual
            </>
          )}
          {cost.typeCost !== undefined && <>, type cost {cost.typeCost}</>}
          {cost.limit && (
            <>
              {' '}
              · cost budget {formatAmount('cost', cost.limit.remaining)} of {formatAmount('cost', cost.limit.limit)} left per {cost.limit.window}
            </>
          )}
        </p>
      )}
      {limits.exempt && <p>No rate limit applies to this key ({limits.exempt}).</p>}
      {limits.policies.length > 0 && (
        <table data-testid="rate-limits">
          <thead>
            <tr>
              <th>policy</th>
              <th>remaining</th>
              <th>quota</th>
              <th>window</th>
              <th>resets in</th>
            </tr>
          </thead>
          <tbody>
            {limits.policies.map((p) => (
              <tr key={p.name} className={p.quota !== null && p.remaining <= p.quota * 0.1 ? 'low' : undefined}>
                <td>{p.name}</td>
                <td>{formatAmount(p.name, p.remaining)}</td>
                <td>{p.quota === null ? '' : formatAmount(p.name, p.quota)}</td>
                <td>{p.windowSeconds === null ? '' : formatDuration(p.windowSeconds)}</td>
                <td>{formatDuration(secondsUntil(p.resetAt))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
