import { useMemo } from 'preact/hooks';
import { request } from '../api';
import { PortalForecastDocument, PortalHistoryDocument, PortalNowDocument, PortalSlaDocument } from '../generated/operations';
import { takePrefetchedHistory, takePrefetchedNow } from '../portal-prefetch';
import type { Session } from '../session';
import { hrefOf } from '../route';
import { UsageView, type UsageSource } from '../components/UsageView';

/** The tenant's own portal: every call is a free `usage` query with the signed-in key. */
export function Portal(props: { session: Session; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const source = useMemo<UsageSource>(
    () => ({
      id: 'self',
      // The first windows and history were requested before the page rendered (portal-prefetch.ts).
      now: async () => (await (takePrefetchedNow(apiKey) ?? request(apiKey, PortalNowDocument))).usage,
      history: async (variables) => (await request(apiKey, PortalHistoryDocument, variables)).usage,
      prefetchedHistory: (selection) => {
        const first = takePrefetchedHistory(apiKey, selection);
        return first && { variables: first.variables, data: first.data.then((d) => d.usage) };
      },
      forecast: async () => (await request(apiKey, PortalForecastDocument)).usage,
      sla: async (month) => (await request(apiKey, PortalSlaDocument, { month })).usage,
    }),
    [apiKey],
  );
  return (
    <main class="page">
      <header class="topbar">
        <h1>API usage</h1>
        <a href={hrefOf({ page: 'billing' })}>Plan and billing</a>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <UsageView source={source} />
    </main>
  );
}
