import { bucketId } from './buckets.js';
import type { Granularity } from './store.js';

/*
 * Key layout (MEMORY.md). Every key starts `usage:` and carries a Redis Cluster hash tag: the
 * tenant's (`usage:{acme}:...`) for its own rollups, `{_fleet}` for the fleet-wide ones. Tenant
 * ids cannot start with `_` (the meter refuses them), so no tenant shares the fleet's tag.
 *
 *   usage:{t}:m:202611221530              tenant totals, one hash per bucket (m, h, d, mo)
 *   usage:{t}:c:<client>:h:2026112215     per client of the tenant
 *   usage:{t}:f:<Type.field>:d:20261122   per root field of the tenant
 *   usage:{t}:idx:d:20261122              index: c:<client>, f:<Type.field> -> requests (d, mo)
 *   usage:{_fleet}:p:<plan>:m:...         fleet totals per plan
 *   usage:{_fleet}:f:<Type.field>:m:...   fleet totals per root field
 *   usage:{_fleet}:idx:h:2026112215       index: t:<tenant> -> plan, p:<plan>, f:<field> -> requests (h, d, mo)
 */

export const FLEET_TAG = '_fleet';

const LETTER: Record<Granularity, string> = { minute: 'm', hour: 'h', day: 'd', month: 'mo' };

const DAY_MS = 86_400_000;

/**
 * How long a bucket is kept after its last write (ms; null = kept). `totals`: a tenant's own
 * buckets and the fleet's (the retention). `detail`: per client and per root field of a
 * tenant, which multiply the key count by clients + fields, so their fine buckets live shorter.
 */
export const RETENTION_MS: Record<'totals' | 'detail', Record<Granularity, number | null>> = {
  totals: { minute: 30 * DAY_MS, hour: 365 * DAY_MS, day: null, month: null },
  detail: { minute: 2 * DAY_MS, hour: 30 * DAY_MS, day: null, month: null },
};

/** The fleet's hourly index only serves the anomaly rule (the last two hours). */
export const FLEET_HOUR_INDEX_TTL_MS = 2 * DAY_MS;

export type Series =
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'client'; tenantId: string; clientId: string }
  | { kind: 'tenantField'; tenantId: string; rootField: string }
  | { kind: 'plan'; planId: string }
  | { kind: 'fleetField'; rootField: string };

export function retentionClass(series: Series): 'totals' | 'detail' {
  return series.kind === 'client' || series.kind === 'tenantField' ? 'detail' : 'totals';
}

export function seriesPrefix(series: Series): string {
  switch (series.kind) {
    case 'tenant':
      return `usage:{${series.tenantId}}`;
    case 'client':
      return `usage:{${series.tenantId}}:c:${series.clientId}`;
    case 'tenantField':
      return `usage:{${series.tenantId}}:f:${series.rootField}`;
    case 'plan':
      return `usage:{${FLEET_TAG}}:p:${series.planId}`;
    case 'fleetField':
      return `usage:{${FLEET_TAG}}:f:${series.rootField}`;
  }
}

export function bucketKey(series: Series, granularity: Granularity, t: number): string {
  return `${seriesPrefix(series)}:${LETTER[granularity]}:${bucketId(granularity, t)}`;
}

/** A tenant's index of the clients and root fields it used in a day or month. */
export function tenantIndexKey(tenantId: string, granularity: 'day' | 'month', t: number): string {
  return `usage:{${tenantId}}:idx:${LETTER[granularity]}:${bucketId(granularity, t)}`;
}

/** The fleet's index of tenants (and their plan), plans and root fields seen in an hour, day or month. */
export function fleetIndexKey(granularity: 'hour' | 'day' | 'month', t: number): string {
  return `usage:{${FLEET_TAG}}:idx:${LETTER[granularity]}:${bucketId(granularity, t)}`;
}
