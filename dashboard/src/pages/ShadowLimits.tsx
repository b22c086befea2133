import { useState } from 'preact/hooks';
import { request } from '../api';
import { count, when } from '../format';
import { PromoteShadowLimitsDocument, ShadowLimitsDocument, type ShadowLimitsQuery } from '../generated/operations';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { usePolling } from '../usePolling';
import { ConsoleHeader } from './ConsoleHeader';

type ShadowRow = ShadowLimitsQuery['fleetUsage']['shadowLimits'][number];

/**
 * Shadow limits (README: Changing limits safely): every tenant a shadow covers, who it would have
 * refused (per key and policy, since the first and the latest moment), and the one button that
 * enforces it (`promoteShadowLimits`, audited). Refreshed every 10 s.
 */
export function ShadowLimits(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const [version, setVersion] = useState(0);
  const loaded = usePolling(async () => (await request(apiKey, ShadowLimitsDocument, {})).fleetUsage.shadowLimits, [apiKey, version], 10_000);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  const promote = async (row: ShadowRow) => {
    if (!confirm(`Enforce the shadow limits of ${row.tenantName} (plan ${row.shadowPlan}) now?`)) return;
    try {
      const { promoteShadowLimits } = await request(apiKey, PromoteShadowLimitsDocument, { tenantId: row.tenantId });
      setMessage({
        text: `${row.tenantName}: the shadow limits are enforced (plan ${promoteShadowLimits?.plan ?? row.shadowPlan}, a runtime override).`,
        error: false,
      });
      setVersion((v) => v + 1);
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  const rows = loaded.data;
  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut}>
        <a href={hrefOf({ page: 'fleet' })}>← Back to the fleet</a>
      </ConsoleHeader>
      {(loaded.error || message) && (
        <div class="banner banner--full" role={message?.error || loaded.error ? 'alert' : 'status'}>
          <p class={message?.error || loaded.error ? 'error' : ''} data-testid="shadow-message">
            {message?.text ?? loaded.error}
          </p>
        </div>
      )}
      <section class="card" aria-labelledby="shadow-title" data-panel="shadow-limits">
        <h2 id="shadow-title">Shadow limits</h2>
        <p class="muted">
          Limits evaluated with every request of these tenants, never enforced: who they would have refused. Promote one to enforce it (audited); replay a past
          period against a plan with <code>npm run simulate</code>.
        </p>
        {rows && rows.length === 0 && (
          <p data-testid="shadow-none">No shadow limits are deployed: set plans.&lt;id&gt;.shadow in the config, or setShadowLimits.</p>
        )}
        {rows && rows.length > 0 && (
          <table class="data" data-testid="shadow-tenants">
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Enforced</th>
                <th scope="col">In shadow</th>
                <th scope="col">Would refuse</th>
                <th scope="col">First</th>
                <th scope="col">Latest</th>
                <th scope="col">
                  <span class="visually-hidden">Promote</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.tenantId}>
                  <th scope="row">{row.tenantName}</th>
                  <td>{row.plan}</td>
                  <td title={row.limits.map((l) => `${l.name} ${l.value}`).join(', ')}>
                    {row.shadowPlan} ({row.source})
                  </td>
                  <td>{count(row.wouldRefuse)}</td>
                  <td>{row.firstRefusedAt ? when(row.firstRefusedAt) : '–'}</td>
                  <td>{row.lastRefusedAt ? when(row.lastRefusedAt) : '–'}</td>
                  <td>
                    <button type="button" onClick={() => void promote(row)}>
                      Promote
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {rows?.some((r) => r.refusals.length > 0) && (
        <section class="card" aria-labelledby="shadow-refusals-title" data-panel="shadow-refusals">
          <h2 id="shadow-refusals-title">Who would be refused</h2>
          <table class="data" data-testid="shadow-refusals">
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Key</th>
                <th scope="col">Limit</th>
                <th scope="col">Requests</th>
                <th scope="col">First</th>
                <th scope="col">Latest</th>
              </tr>
            </thead>
            <tbody>
              {rows.flatMap((row) =>
                row.refusals.map((r) => (
                  <tr key={`${row.tenantId}|${r.clientId}|${r.policy}`}>
                    <th scope="row">{row.tenantName}</th>
                    <td>{r.clientId}</td>
                    <td>{r.policy}</td>
                    <td>{count(r.count)}</td>
                    <td>{when(r.firstAt)}</td>
                    <td>{when(r.lastAt)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </section>
      )}
    </main>
  );
}
