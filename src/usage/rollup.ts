import { GRANULARITIES } from './buckets.js';
import { toFields, type Counters } from './counters.js';
import { FLEET_HOUR_INDEX_TTL_MS, RETENTION_MS, bucketKey, fleetIndexKey, retentionClass, tenantIndexKey, type Series } from './keys.js';
import type { Aggregate, AggregateBatch, Granularity } from './store.js';

/** One hash to update: increments, plain sets, then a relative expiry (null: none). */
export interface HashOp {
  key: string;
  ttlMs: number | null;
  incr: Map<string, number>;
  set: Map<string, string>;
}

/**
 * The updates of one hash tag: a tenant's own keys, or the fleet's. A group is written
 * atomically (one script call in Redis), so a failure is known per group.
 */
export interface WriteGroup {
  part: 'tenant' | 'fleet';
  ops: HashOp[];
  /** The aggregates whose `part` this group writes (to retry if it fails). */
  aggregates: Aggregate[];
}

/**
 * Turns a batch into hash updates: each aggregate adds its sums to the minute, hour, day and
 * month bucket of every series it belongs to, and marks the indexes the range queries read.
 * Updates to one key are merged, so N aggregates of a tenant in an hour touch its hour key once.
 */
export function planWrite(batch: AggregateBatch): WriteGroup[] {
  const tenants = new Map<string, Group>();
  const fleet = new Group('fleet');
  for (const aggregate of batch) {
    if (aggregate.scope !== 'fleet') {
      let group = tenants.get(aggregate.tenantId);
      if (!group) {
        group = new Group('tenant');
        tenants.set(aggregate.tenantId, group);
      }
      addTenantPart(group, aggregate);
    }
    if (aggregate.scope !== 'tenant') addFleetPart(fleet, aggregate);
  }
  const groups = [...tenants.values(), fleet].filter((group) => group.aggregates.length > 0);
  return groups.map((group) => ({ part: group.part, ops: [...group.ops.values()], aggregates: group.aggregates }));
}

class Group {
  readonly ops = new Map<string, HashOp>();
  readonly aggregates: Aggregate[] = [];
  constructor(readonly part: 'tenant' | 'fleet') {}

  op(key: string, ttlMs: number | null): HashOp {
    let op = this.ops.get(key);
    if (!op) {
      op = { key, ttlMs, incr: new Map(), set: new Map() };
      this.ops.set(key, op);
    }
    return op;
  }

  addCounters(series: Series, at: number, counters: Counters, finest: Granularity = 'minute'): void {
    const retention = RETENTION_MS[retentionClass(series)];
    for (const granularity of GRANULARITIES.slice(GRANULARITIES.indexOf(finest))) {
      const op = this.op(bucketKey(series, granularity, at), retention[granularity]);
      for (const [field, value] of toFields(counters)) increment(op, field, value);
    }
  }
}

function increment(op: HashOp, field: string, value: number): void {
  if (value !== 0) op.incr.set(field, (op.incr.get(field) ?? 0) + value);
}

function addTenantPart(group: Group, aggregate: Aggregate): void {
  const { tenantId, clientId, minute: at } = aggregate;
  group.aggregates.push(aggregate);
  const finest = aggregate.finest;
  group.addCounters({ kind: 'tenant', tenantId }, at, aggregate.counters, finest);
  group.addCounters({ kind: 'client', tenantId, clientId }, at, aggregate.counters, finest);
  for (const [rootField, counters] of aggregate.fields) group.addCounters({ kind: 'tenantField', tenantId, rootField }, at, counters, finest);
  for (const granularity of ['day', 'month'] as const) {
    const index = group.op(tenantIndexKey(tenantId, granularity, at), null);
    increment(index, `c:${clientId}`, aggregate.counters.requests);
    for (const [rootField, counters] of aggregate.fields) increment(index, `f:${rootField}`, counters.requests);
  }
}

function addFleetPart(group: Group, aggregate: Aggregate): void {
  const { tenantId, planId, minute: at } = aggregate;
  group.aggregates.push(aggregate);
  group.addCounters({ kind: 'plan', planId }, at, aggregate.counters, aggregate.finest);
  for (const [rootField, counters] of aggregate.fields) group.addCounters({ kind: 'fleetField', rootField }, at, counters, aggregate.finest);
  for (const granularity of ['hour', 'day', 'month'] as const) {
    const index = group.op(fleetIndexKey(granularity, at), granularity === 'hour' ? FLEET_HOUR_INDEX_TTL_MS : null);
    index.set.set(`t:${tenantId}`, planId);
    if (granularity === 'hour') continue;
    increment(index, `p:${planId}`, aggregate.counters.requests);
    for (const [rootField, counters] of aggregate.fields) increment(index, `f:${rootField}`, counters.requests);
  }
}
