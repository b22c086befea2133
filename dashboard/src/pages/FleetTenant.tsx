import { useMemo } from 'preact/hooks';
import { ApiError, request } from '../api';
import { FleetTenantForecastDocument, FleetTenantHistoryDocument, FleetTenantNowDocument, FleetTenantSlaDocument } from '../generated/operations';
import type { Session } from '../session';
import { UsageView, type UsageSource } from '../components/UsageView';
import { hrefOf } from '../route';
import { ConsoleHeader } from './ConsoleHeader';

/** Drill-down: a tenant's portal as the platform team sees it, through fleetUsage.tenant. */
export function FleetTenant(props: { session: Session; tenantId: string; onSignOut: () => void }) {
  const { apiKey } = props.session;
  const { tenantId } = props;
  const source = useMemo<UsageSource>(() => {
    const tenant = <T,>(t: T | null): T => {
      if (t === null) throw new ApiError(`No tenant "${tenantId}".`, 'NOT_FOUND', 200);
      return t;
    };
    return {
      id: `fleet:${tenantId}`,
      now: async () => tenant((await request(apiKey, FleetTenantNowDocument, { tenantId })).fleetUsage.tenant),
      history: async (variables) => tenant((await request(apiKey, FleetTenantHistoryDocument, { tenantId, ...variables })).fleetUsage.tenant),
      forecast: async () => tenant((await request(apiKey, FleetTenantForecastDocument, { tenantId })).fleetUsage.tenant),
      sla: async (month) => tenant((await request(apiKey, FleetTenantSlaDocument, { tenantId, month })).fleetUsage.tenant),
    };
  }, [apiKey, tenantId]);
  return (
    <main class="page">
      <ConsoleHeader onSignOut={props.onSignOut}>
        <a href={hrefOf({ page: 'fleet' })}>← Back to the fleet</a>
      </ConsoleHeader>
      <p class="banner banner--info">
        Viewing tenant <strong data-testid="drill-tenant">{tenantId}</strong> as its portal shows it (per-key and per-IP windows belong to a caller and are not
        shown).
      </p>
      <UsageView source={source} />
    </main>
  );
}
