import { useState } from 'preact/hooks';
import { request } from '../api';
import { AuditTrailDocument, type AuditTrailQuery } from '../generated/operations';
import { count, when } from '../format';
import { hrefOf } from '../route';
import type { Session } from '../session';
import { usePolling } from '../usePolling';
import { ConsoleHeader } from './ConsoleHeader';

/** Entries per page. */
const PAGE_SIZE = 25;

type Entry = AuditTrailQuery['fleetUsage']['auditTrail']['entries'][number];

const SOURCES: Record<string, string> = { admin: 'Admin', billing: 'Billing', config: 'Config reload', expiry: 'Expiry' };

/**
 * Every change of a tenant's plan or limits (`fleetUsage.auditTrail`), newest first, a page at a
 * time: where it came from, who or what made it (an admin key, a Stripe event, a config reload,
 * the clock), and the plan in force before and after. Kept for `audit.retentionDays`.
 */
export function AuditTrail(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const [tenantId, setTenantId] = useState('');
  // The cursors of the pages before this one: Newer pops, Older pushes the page's endCursor.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors.at(-1) ?? null;
  const loaded = usePolling(
    async () => (await request(apiKey, AuditTrailDocument, { first: PAGE_SIZE, after, ...(tenantId ? { tenantId } : {}) })).fleetUsage,
    [apiKey, tenantId, after],
    // Only the first page follows new changes; an older page stays put while it is read.
    after === null ? 15_000 : 0,
  );
  const data = loaded.data;
  const name = (id: string) => data?.directory.find((t) => t.id === id)?.displayName ?? id;
  const page = data?.auditTrail;
  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut}>
        <a href={hrefOf({ page: 'fleet' })}>← Back to the fleet</a>
      </ConsoleHeader>
      <section class="card" aria-labelledby="audit-title" data-panel="audit-trail">
        <h2 id="audit-title">Audit trail</h2>
        <p class="muted">Every change of a tenant's plan or limits, newest first: admin changes, billing events, config reloads, and expiries.</p>
        {loaded.error && (
          <p class="error" role="alert">
            {loaded.error}
          </p>
        )}
        <form class="controls" aria-label="Filter the audit trail" onSubmit={(e) => e.preventDefault()}>
          <label>
            Tenant
            <select
              aria-label="Tenant"
              value={tenantId}
              onChange={(e) => {
                setTenantId((e.target as HTMLSelectElement).value);
                setCursors([null]);
              }}
            >
              <option value="">All tenants</option>
              {data?.directory.map((t) => (
                <option value={t.id} key={t.id}>
                  {t.displayName}
                </option>
              ))}
            </select>
          </label>
        </form>
        {page && page.entries.length === 0 && <p class="muted">No changes {tenantId ? `to ${name(tenantId)} ` : ''}yet.</p>}
        {page && page.entries.length > 0 && (
          <table class="data" data-table="audit-trail">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col" class="text">
                  Source
                </th>
                <th scope="col" class="text">
                  Actor
                </th>
                <th scope="col" class="text">
                  Tenant
                </th>
                <th scope="col" class="text">
                  Before
                </th>
                <th scope="col" class="text">
                  After
                </th>
                <th scope="col" class="text">
                  Change
                </th>
              </tr>
            </thead>
            <tbody>
              {page.entries.map((e) => (
                <tr key={e.id} data-entry={e.id} data-source={e.source}>
                  <th scope="row">
                    <time dateTime={e.at} title={e.at}>
                      {when(e.at)}
                    </time>
                  </th>
                  <td class="text" data-col="source">
                    {SOURCES[e.source] ?? e.source}
                  </td>
                  <td class="text" data-col="actor">
                    {e.eventId ? `${e.by} (${e.eventId})` : e.by}
                  </td>
                  <td class="text" data-col="tenant">
                    {name(e.tenantId)}
                  </td>
                  <td class="text" data-col="before">
                    {e.before ?? '–'}
                  </td>
                  <td class="text" data-col="after">
                    {e.after ?? '–'}
                  </td>
                  <td class="text" data-col="change">
                    {describe(e)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav class="controls" aria-label="Pages">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            ← Newer
          </button>
          <span class="muted" data-testid="audit-page">
            Page {cursors.length}
          </span>
          <button type="button" disabled={!page?.hasNextPage} onClick={() => page?.endCursor && setCursors([...cursors, page.endCursor])}>
            Older →
          </button>
        </nav>
      </section>
    </main>
  );
}

/** What the change set, in words: the plan and limits, until when. */
function describe(e: Entry): string {
  if (e.action === 'clear') return 'cleared runtime limits';
  if (e.action === 'expired') return 'expired';
  if (e.action === 'subscription') return e.expiresAt ? `subscription past due: plan ${e.plan} until ${when(e.expiresAt)}` : `subscription: plan ${e.plan}`;
  const parts = [...(e.plan ? [`plan ${e.plan}`] : []), ...e.limits.map((l) => `${l.name} ${count(l.value)}`)];
  const what = `${e.action} ${parts.join(', ') || ''}`.trim();
  return e.expiresAt ? `${what} until ${when(e.expiresAt)}` : what;
}
