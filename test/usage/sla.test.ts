import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../../src/usage/counters.js';
import { slaPeriod } from '../../src/usage/sla.js';
import { toTotals } from '../../src/usage/totals.js';

const target = { availability: 99.5, latencyP95Ms: 300 };
const DAY = Date.UTC(2026, 9, 3);

function totals(c: { requests: number; errors?: number; faults?: number; throttledBy?: Record<string, number>; fastMs?: number; slow?: number }) {
  const counters = emptyCounters();
  counters.requests = c.requests;
  counters.errors = c.errors ?? 0;
  counters.faults = c.faults ?? 0;
  for (const [reason, n] of Object.entries(c.throttledBy ?? {})) {
    counters.throttledBy.set(reason, n);
    counters.throttled += n;
  }
  // Latency: histogram bucket 5 is (20, 50] ms, bucket 9 is (500, 1000] ms.
  counters.latencyHistogram[5] = c.requests - (c.slow ?? 0);
  counters.latencyHistogram[9] = c.slow ?? 0;
  return toTotals(counters);
}

describe('SLA of a period', () => {
  it('counts gateway failures against availability, not client errors', () => {
    const p = slaPeriod(totals({ requests: 1000, errors: 50, faults: 20 }), target, DAY, DAY + 86_400_000);
    expect(p).toMatchObject({
      start: '2026-10-03T00:00:00.000Z',
      end: '2026-10-04T00:00:00.000Z',
      counted: 1000,
      failures: 20,
      availability: 98,
      breached: ['availability'],
    });
  });

  it("leaves out requests refused for being over the tenant's own limits, but counts refusals of an unavailable limit store as failures", () => {
    const p = slaPeriod(totals({ requests: 1000, throttledBy: { requests: 10, quota: 5, unavailable: 3 } }), target, DAY, DAY + 1);
    expect(p.counted).toBe(1000 - 18 + 3);
    expect(p.failures).toBe(3);
    expect(p.availability).toBe(99.695); // 1 - 3 / 985
    expect(p.breached).toEqual([]);
  });

  it('breaches on the p95 latency, and a period without requests meets both targets', () => {
    expect(slaPeriod(totals({ requests: 1000, slow: 100 }), target, DAY, DAY + 1).breached).toEqual(['latency']);
    expect(slaPeriod(totals({ requests: 1000, slow: 40 }), target, DAY, DAY + 1).breached).toEqual([]);
    expect(slaPeriod(totals({ requests: 0 }), target, DAY, DAY + 1)).toMatchObject({ counted: 0, availability: null, latencyP95Ms: null, breached: [] });
  });
});
