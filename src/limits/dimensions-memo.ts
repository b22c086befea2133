import type { PlanLimits } from '../config/schema.js';
import { keepChargeKey } from './charge-key.js';
import { buildDimensions, makesDimensions, type DimensionInput, type LimitDimension } from './dimensions.js';
import type { Dimension } from './store/types.js';
import { utcOffsetMinutes } from './time-zone.js';

/** A request's dimensions as the limit check sends them: the same arrays for every request that builds equal ones. */
export interface BuiltDimensions {
  dims: LimitDimension[];
  /** `dims`' store dimensions, in order. */
  stores: Dimension[];
}

/** Entries kept per plan limits and operation; past it they are all forgotten (and built again). */
const MAX_ENTRIES = 1000;

interface Entry extends BuiltDimensions {
  /** The calendar dimensions' UTC offset they were built with (a DST change builds them again). */
  offset: number;
}

/**
 * `buildDimensions` for a request, remembered: a client sends the same few operations again and
 * again, and the leased limit check needs no round trip, so building the same dimensions and
 * their charge key (charge-key.ts, memoised on the array returned here) on every request was a
 * good part of what a limited request costs. Nothing but the inputs decides the result: the plan's
 * limits object (a new one on every config load or override), the operation's root-field list
 * (Apollo keeps one parsed document per text), and the tenant, key, address (only when a limit is
 * per address), cost and calendar offset. The arrays returned are shared: read-only.
 */
export function memoDimensions(input: DimensionInput): BuiltDimensions {
  const { limits } = input;
  // A plan without limits (every feature off): nothing to build or remember, on every request.
  if (!makesDimensions(input)) return { dims: [], stores: [] };
  const perAddress = input.keyPerIpPerMinute !== undefined || typeof limits.perIpPerMinute === 'number';
  const calendar = typeof limits.requestsPerDay === 'number' || typeof limits.requestsPerMonth === 'number';
  const offset = calendar ? utcOffsetMinutes(input.timeZone, input.now) : 0;
  const byOperation = entriesOf(limits, input.rootFields);
  const key = keyOf(input.tenantId, input.clientId, perAddress ? input.ip : '', input.cost, input.keyPerIpPerMinute ?? -1, input.timeZone);
  const known = byOperation.get(key);
  if (known !== undefined && known.offset === offset) return known;
  const dims = buildDimensions(input);
  if (dims.length === 0) return { dims, stores: [] };
  const entry: Entry = { dims, stores: dims.map((d) => d.store), offset };
  keepChargeKey(entry.stores);
  if (byOperation.size >= MAX_ENTRIES) byOperation.clear();
  byOperation.set(key, entry);
  return entry;
}

const memo = new WeakMap<PlanLimits, WeakMap<readonly string[], Map<string, Entry>>>();

function entriesOf(limits: PlanLimits, rootFields: readonly string[]): Map<string, Entry> {
  let byFields = memo.get(limits);
  if (byFields === undefined) {
    byFields = new WeakMap();
    memo.set(limits, byFields);
  }
  let entries = byFields.get(rootFields);
  if (entries === undefined) {
    entries = new Map();
    byFields.set(rootFields, entries);
  }
  return entries;
}

/**
 * The caller's part of an entry's key. The last one made is handed out again for the same parts:
 * a busy key's requests follow one another, and the same string object keeps its hash, where a
 * new one is hashed again by the map on every request.
 */
function keyOf(tenantId: string, clientId: string, ip: string, cost: number, keyPerIp: number, timeZone: string): string {
  const last = lastKey;
  if (
    last.cost === cost &&
    last.clientId === clientId &&
    last.ip === ip &&
    last.tenantId === tenantId &&
    last.keyPerIp === keyPerIp &&
    last.timeZone === timeZone
  )
    return last.key;
  const key = `${tenantId}\n${clientId}\n${ip}\n${cost}\n${keyPerIp}\n${timeZone}`;
  lastKey = { tenantId, clientId, ip, cost, keyPerIp, timeZone, key };
  return key;
}

let lastKey = { tenantId: '', clientId: '', ip: '', cost: Number.NaN, keyPerIp: -1, timeZone: '', key: '' };
