import { describe, expect, it } from 'vitest';
import type { PlanLimits } from '../../src/config/schema.js';
import { chargeKey } from '../../src/limits/charge-key.js';
import { buildDimensions, type DimensionInput } from '../../src/limits/dimensions.js';
import { memoDimensions } from '../../src/limits/dimensions-memo.js';

/** Plans of every shape the memo keys on: per address, per key, calendar quotas, field limits. */
const PLANS: PlanLimits[] = [
  { requestsPerMinute: 100, costPerMinute: 1000 },
  { requestsPerMinute: 100, perIpPerMinute: 10, burst: { requests: 5, maxDelayMs: 500 } },
  { requestsPerMinute: 60, requestsPerDay: 1000, requestsPerMonth: 20_000, perClientShare: 0.5 },
  { costPerMinute: 500, responseBytesPerHour: 1_000_000, fieldLimits: { 'Query.search': { limit: 5, windowSeconds: 60 } } },
  {},
] as PlanLimits[];
const FIELDS = [Object.freeze(['Query.viewer']), Object.freeze(['Query.search', 'Query.search']), Object.freeze(['Query.viewer', 'Query.search'])];
// Across a DST change in Berlin (2026-10-25 01:00 UTC): the calendar dimensions' offset moves.
const TIMES = [Date.UTC(2026, 9, 24, 12), Date.UTC(2026, 9, 25, 0, 59), Date.UTC(2026, 9, 25, 1, 1), Date.UTC(2026, 11, 6)];

describe('remembered dimensions', () => {
  it('are what buildDimensions builds for every input, across plans, keys, addresses, costs, operations and a DST change', () => {
    let seed = 7;
    const pick = <T>(values: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return values[seed % values.length]!;
    };
    for (let i = 0; i < 5000; i++) {
      const input: DimensionInput = {
        tenantId: pick(['acme', 'globex']),
        clientId: pick(['k1', 'k2']),
        ip: pick(['10.0.0.1', '10.0.0.2', '::1']),
        limits: pick(PLANS),
        timeZone: pick(['UTC', 'Europe/Berlin']),
        rootFields: pick(FIELDS) as string[],
        cost: pick([0, 1, 2.5, 40]),
        now: pick(TIMES),
        ...(pick([true, false]) ? { keyPerIpPerMinute: pick([3, 4]) } : {}),
      };
      const built = buildDimensions(input);
      const remembered = memoDimensions(input);
      expect(remembered.dims).toEqual(built);
      expect(remembered.stores).toEqual(built.map((d) => d.store));
      // The key kept for the shared array is the one its dimensions make.
      expect(chargeKey(remembered.stores)).toBe(chargeKey(built.map((d) => d.store)));
    }
  });

  it('hands equal requests the same arrays, so their charge key is built once', () => {
    const input: DimensionInput = {
      tenantId: 'acme',
      clientId: 'k1',
      ip: '10.0.0.1',
      limits: PLANS[0]!,
      timeZone: 'UTC',
      rootFields: FIELDS[0] as string[],
      cost: 2,
      now: TIMES[0]!,
    };
    const first = memoDimensions(input);
    expect(memoDimensions({ ...input, ip: '10.0.0.9', now: TIMES[3]! }).stores).toBe(first.stores); // no per-address limit, no calendar
    expect(memoDimensions({ ...input, cost: 3 }).stores).not.toBe(first.stores);
    expect(memoDimensions({ ...input, limits: { ...PLANS[0]! } }).stores).not.toBe(first.stores); // a reloaded config's limits
  });
});
