import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { effectiveLimits } from '../../src/limits/effective-limits.js';
import type { RuntimeOverride } from '../../src/limits/overrides.js';

const config = parseConfig(
  `
plans:
  free:
    displayName: Free
    limits:
      requestsPerMinute: 100
      requestsPerDay: 1000
      fieldLimits: { Mutation.placeOrder: { limit: 20, windowSeconds: 60 } }
  pro:
    displayName: Pro
    onStoreFailure: closed
    limits: { requestsPerMinute: 1000, requestsPerDay: unlimited }
tenants:
  acme:
    displayName: Acme
    plan: free
    timeZone: Europe/Paris
    overrides:
      requestsPerDay: 5000
      fieldLimits: { Mutation.updateCustomer: { limit: 5, windowSeconds: 60 } }
`,
  'test.yaml',
  {},
);

const override = (o: Partial<RuntimeOverride>): RuntimeOverride => ({
  tenantId: 'acme',
  planId: null,
  limits: {},
  expiresAt: null,
  setBy: 'ops',
  setAt: 0,
  ...o,
});

describe('effective limits', () => {
  it("layers the tenant's config overrides over its plan, merging field limits", () => {
    expect(effectiveLimits(config, 'acme', undefined, 0)).toEqual({
      planId: 'free',
      planName: 'Free',
      timeZone: 'Europe/Paris',
      onStoreFailure: 'open',
      limits: {
        requestsPerMinute: 100,
        requestsPerDay: 5000,
        fieldLimits: { 'Mutation.placeOrder': { limit: 20, windowSeconds: 60 }, 'Mutation.updateCustomer': { limit: 5, windowSeconds: 60 } },
      },
    });
  });

  it("puts a runtime override on top, and a plan change brings that plan's limits and failure mode", () => {
    const e = effectiveLimits(config, 'acme', override({ planId: 'pro', limits: { requestsPerMinute: 7 } }), 0);
    expect(e).toMatchObject({ planId: 'pro', planName: 'Pro', onStoreFailure: 'closed' });
    // Plan pro, then the tenant's own config overrides, then the runtime values.
    expect(e.limits).toMatchObject({ requestsPerMinute: 7, requestsPerDay: 5000 });
  });

  it('ignores an override once it has expired, and one naming a plan that no longer exists', () => {
    expect(effectiveLimits(config, 'acme', override({ limits: { requestsPerMinute: 7 }, expiresAt: 1000 }), 999).limits.requestsPerMinute).toBe(7);
    expect(effectiveLimits(config, 'acme', override({ limits: { requestsPerMinute: 7 }, expiresAt: 1000 }), 1000).limits.requestsPerMinute).toBe(100);
    expect(effectiveLimits(config, 'acme', override({ planId: 'gone' }), 0).planId).toBe('free');
  });

  it('answers the same inputs from its memo, and follows a replaced override, its expiry and a reloaded config', () => {
    const first = effectiveLimits(config, 'acme', undefined, 0);
    expect(effectiveLimits(config, 'acme', undefined, 5)).toBe(first);
    // Shared by every caller, so nobody may change it.
    expect(Object.isFrozen(first) && Object.isFrozen(first.limits)).toBe(true);

    const seven = override({ limits: { requestsPerMinute: 7 }, expiresAt: 1000 });
    expect(effectiveLimits(config, 'acme', seven, 10).limits.requestsPerMinute).toBe(7);
    // Overrides are replaced, never changed in place: a new one is a new answer.
    expect(effectiveLimits(config, 'acme', override({ limits: { requestsPerMinute: 8 } }), 10).limits.requestsPerMinute).toBe(8);
    expect(effectiveLimits(config, 'acme', seven, 999).limits.requestsPerMinute).toBe(7);
    expect(effectiveLimits(config, 'acme', seven, 1000)).toEqual(first);

    const reloaded = { ...config, plans: { ...config.plans, free: { ...config.plans.free!, limits: { requestsPerMinute: 50 } } } };
    expect(effectiveLimits(reloaded, 'acme', undefined, 0).limits.requestsPerMinute).toBe(50);
  });
});
