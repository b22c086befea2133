import { useMemo } from 'preact/hooks';
import { request } from '../api';
import { PortalForecastDocument, PortalHistoryDocument, PortalNowDocument, PortalSlaDocument } from '../generated/operations';
import type { Session } from '../session';
import { UsageView, type UsageSource } from '../components/UsageView';

/** The tenant's own portal: every call is a free `usage` query with the signed-in key. */
export function Portal(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const source = useMemo<UsageSource>(
    () => ({
      id: 'self',
      now: async () => (await request(apiKey, PortalNowDocument)).usage,
      history: async (variables) => (await request(apiKey, PortalHistoryDocument, variables)).usage,
      forecast: async () => (await request(apiKey, PortalForecastDocument)).usage,
      sla: async (month) => (await request(apiKey, PortalSlaDocument, { month })).usage,
    }),
    [apiKey],
  );
  return (
    <main class="page">
      <header class="topbar">
        <h1>API usage</h1>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <UsageView source={source} />
    </main>
  );
}
