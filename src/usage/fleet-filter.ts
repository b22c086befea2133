import type { Config } from '../config/schema.js';
import { MAX_MERGED_SERIES, UsageQueryError, type HistoryPoint, type RangeQuery, type SeriesRef, type UsageStore, type UsageTotals } from './store.js';

/** The platform console's filter (schema: FleetFilter); every part optional, combined with AND. */
export interface FleetFilter {
  tenantId?: string;
  plan?: string;
  client?: string;
  rootField?: string;
  status?: 'ok' | 'error' | 'throttled';
  throttledBy?: string;
}

export interface FleetConsumerRow {
  tenantId: string;
  planId: string;
  matching: number;
  totals: UsageTotals;
}

/** Requests of `totals` the status filter matches (all of them without one). */
export function matchingRequests(totals: UsageTotals, filter: FleetFilter): number {
  if (filter.throttledBy !== undefined) return totals.throttledBy[filter.throttledBy] ?? 0;
  switch (filter.status) {
    case 'ok':
      return totals.ok;
    case 'error':
      return totals.errors;
    case 'throttled':
      return totals.throttled;
    default:
      return totals.requests;
  }
}

function checkFilter(filter: FleetFilter, config: Config): string | undefined {
  if (filter.client !== undefined && filter.rootField !== undefined) {
    throw new UsageQueryError('filter by API key or by root field, not both: usage is not stored per key and root field together');
  }
  if (filter.throttledBy !== undefined && filter.status !== undefined && filter.status !== 'throttled') {
    throw new UsageQueryError(`throttledBy needs status THROTTLED (or none): ${filter.status.toUpperCase()}`);
  }
  if (filter.client === undefined) return undefined;
  const owner = [...config.apiKeys, ...config.serviceTokens].find((k) => k.id === filter.client)?.tenant;
  if (!owner) throw new UsageQueryError(`unknown API key: "${filter.client}"`);
  return owner;
}

/**
 * Tenants with requests in the range, narrowed by tenant, plan (the plan their requests were
 * charged to) and the key's tenant; each tenant's totals are of the filtered key or root field
 * when one is given. Ranked by matching requests, most first.
 */
export async function fleetConsumers(deps: { usage: UsageStore; config: Config }, filter: FleetFilter, range: RangeQuery): Promise<FleetConsumerRow[]> {
  const keyOwner = checkFilter(filter, deps.config);
  const tenants = (await deps.usage.tenants(range)).filter(
    (t) =>
      (filter.tenantId === undefined || t.tenantId === filter.tenantId) &&
      (filter.plan === undefined || t.planId === filter.plan) &&
      (keyOwner === undefined || t.tenantId === keyOwner),
  );
  const rows = await Promise.all(
    tenants.map(async (t): Promise<FleetConsumerRow | null> => {
      let totals = t.totals;
      if (filter.client !== undefined || filter.rootField !== undefined) {
        const by = filter.client !== undefined ? 'client' : 'rootField';
        const key = filter.client ?? filter.rootField;
        const row = (await deps.usage.breakdown({ tenantId: t.tenantId, ...range, by })).find((r) => r.key === key);
        if (!row) return null;
        totals = row.totals;
      }
      return { tenantId: t.tenantId, planId: t.planId, matching: matchingRequests(totals, filter), totals };
    }),
  );
  return rows.filter((r): r is FleetConsumerRow => r !== null && r.matching > 0).sort((a, b) => b.matching - a.matching || (a.tenantId < b.tenantId ? -1 : 1));
}

/**
 * The fleet's history under the filter. With only a plan (or nothing) it reads the per-plan
 * series, exact for the whole fleet; with a tenant, key or root field it adds up the matching
 * tenants' series (at most MAX_MERGED_SERIES). The status filter does not narrow a history: its
 * points carry every outcome, which the chart shows side by side.
 */
export async function fleetHistory(deps: { usage: UsageStore; config: Config }, filter: FleetFilter, range: RangeQuery): Promise<HistoryPoint[]> {
  const keyOwner = checkFilter(filter, deps.config);
  let series: SeriesRef[];
  if (filter.tenantId === undefined && keyOwner === undefined && filter.rootField === undefined) {
    const plans = filter.plan !== undefined ? [filter.plan] : (await deps.usage.plans(range)).map((p) => p.planId);
    series = plans.map((planId) => ({ planId }));
  } else {
    const tenants = (await deps.usage.tenants(range)).filter(
      (t) =>
        (filter.tenantId === undefined || t.tenantId === filter.tenantId) &&
        (filter.plan === undefined || t.planId === filter.plan) &&
        (keyOwner === undefined || t.tenantId === keyOwner),
    );
    if (tenants.length > MAX_MERGED_SERIES) {
      throw new UsageQueryError(`the filter matches ${tenants.length} tenants; a history adds up at most ${MAX_MERGED_SERIES}: filter by tenant or plan`);
    }
    series = tenants.map((t) => ({
      tenantId: t.tenantId,
      ...(filter.client !== undefined ? { client: filter.client } : {}),
      ...(filter.rootField !== undefined ? { rootField: filter.rootField } : {}),
    }));
  }
  return deps.usage.mergedHistory({ ...range, series });
}
