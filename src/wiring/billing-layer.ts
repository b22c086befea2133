import type { OverridesStore, RuntimeOverride } from '../limits/overrides.js';
import type { BillingStore } from '../billing/billing-store.js';

/**
 * The runtime overrides store as every limit check reads it: an admin's override with the
 * tenant's billing record under it (`billing`), so `effectiveLimits` resolves config, billing and
 * override in one place without a second lookup on the request path. A tenant with a billing
 * record but no override gets a placeholder that changes nothing but the plan (`planId: null`,
 * no limits). Writes and `list` go to the admin overrides untouched.
 */
export function withBillingLayer(overrides: OverridesStore, billing: Pick<BillingStore, 'get'>): OverridesStore {
  // The composed record of each tenant, kept while neither layer changed: no allocation per request.
  const composed = new Map<string, { override: RuntimeOverride | undefined; billing: unknown; value: RuntimeOverride }>();
  return {
    get(tenantId) {
      const override = overrides.get(tenantId);
      const plan = billing.get(tenantId);
      if (!plan) return override;
      const cached = composed.get(tenantId);
      if (cached && cached.override === override && cached.billing === plan) return cached.value;
      const base: RuntimeOverride = override ?? { tenantId, planId: null, limits: {}, expiresAt: null, setBy: 'billing', setAt: plan.setAt };
      const value = { ...base, billing: plan };
      composed.set(tenantId, { override, billing: plan, value });
      return value;
    },
    list: () => overrides.list(),
    set: (o) => overrides.set(o),
    clear: (tenantId) => overrides.clear(tenantId),
    close: () => overrides.close(),
  };
}
