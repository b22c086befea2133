import { describe, expect, it } from 'vitest';
import { type ConfigError, parseConfig } from '../../src/config/load.js';
import type { BillingPlan } from '../../src/billing/billing-plan.js';
import { planInForce } from '../../src/billing/plan-in-force.js';
import { effectiveLimits } from '../../src/limits/effective-limits.js';

const yaml = (extra = '') => `
plans:
  free: { displayName: Free, limits: { requestsPerMinute: 100 } }
  pro: { displayName: Pro, limits: { requestsPerMinute: 1000 } }
  legacy: { displayName: Legacy, limits: { requestsPerMinute: 50 } }
defaultPlan: legacy
tenants:
  acme: { displayName: Acme, plan: free }
  oldco: { displayName: Old Co }
billing:
  prices:
    price_pro: { plan: pro, displayPrice: "$49 / month" }
    price_calls: { metered: true }
  pastDueGraceSeconds: 60
  pastDuePlan: free
${extra}`;

const config = parseConfig(yaml(), 'test.yaml', {});

const billing = (b: Partial<BillingPlan>): BillingPlan => ({
  tenantId: 'acme',
  customerId: 'cus_1',
  subscriptionId: 'sub_1',
  paidPlanId: 'pro',
  status: 'active',
  graceUntil: null,
  eventId: 'evt_1',
  eventAt: 0,
  setAt: 0,
  ...b,
});
const layers = (b: Partial<BillingPlan>, override: { planId: string | null; expiresAt: number | null } = { planId: null, expiresAt: null }) => ({
  ...override,
  billing: billing(b),
});

describe('defaultPlan', () => {
  it('puts a tenant that names no plan on the default plan, and says so', () => {
    expect(planInForce(config, 'oldco', undefined, 0)).toEqual({ planId: 'legacy', source: 'default', expiresAt: null });
    expect(planInForce(config, 'acme', undefined, 0)).toEqual({ planId: 'free', source: 'config', expiresAt: null });
    expect(effectiveLimits(config, 'oldco', undefined, 0)).toMatchObject({ planId: 'legacy', planName: 'Legacy', limits: { requestsPerMinute: 50 } });
  });

  it('refuses a tenant without a plan when there is no default, and an unknown default or billing plan', () => {
    const problems = (text: string) => {
      try {
        parseConfig(text, 'test.yaml', {});
        return [];
      } catch (error) {
        return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(problems(yaml().replace('defaultPlan: legacy', ''))).toContain('tenants.oldco.plan: required: name a plan, or set defaultPlan');
    expect(problems(yaml().replace('defaultPlan: legacy', 'defaultPlan: gold'))).toContain('defaultPlan: unknown plan "gold"');
    expect(problems(yaml().replace('price_pro: { plan: pro', 'price_pro: { plan: platinum'))).toContain(
      'billing.prices.price_pro.plan: unknown plan "platinum"',
    );
    const meter = (plans: string) => `  meters:\n    calls: { eventName: api_calls, meterId: mtr_1, measure: requests, plans: [${plans}] }\n`;
    expect(problems(yaml().replace('  pastDueGraceSeconds', `${meter('pro, gold')}  pastDueGraceSeconds`))).toEqual([
      'billing.meters.calls.plans: unknown plan "gold"',
    ]);
    expect(problems(yaml().replace('  pastDueGraceSeconds', `${meter('pro')}  pastDueGraceSeconds`))).toEqual([]);
    expect(problems(yaml().replace('price_calls: { metered: true }', 'price_calls: {}'))).toContain(
      'billing.prices.price_calls: name either a plan or metered: true, not both and not neither',
    );
  });
});

describe('the plan in force: config, then billing, then an override', () => {
  it('billing wins over the config file while the subscription is active or trialing', () => {
    expect(planInForce(config, 'acme', layers({ status: 'active' }), 0)).toEqual({ planId: 'pro', source: 'billing', expiresAt: null });
    expect(planInForce(config, 'acme', layers({ status: 'trialing' }), 0)).toMatchObject({ planId: 'pro', source: 'billing' });
    expect(effectiveLimits(config, 'acme', { tenantId: 'acme', limits: {}, setBy: 'billing', setAt: 0, ...layers({}) }, 0).limits.requestsPerMinute).toBe(1000);
  });

  it('never grants the paid plan to an incomplete subscription', () => {
    for (const status of ['incomplete', 'incomplete_expired'] as const) {
      expect(planInForce(config, 'acme', layers({ status }), 0)).toEqual({ planId: 'free', source: 'config', expiresAt: null });
    }
  });

  it('keeps the paid plan through the grace period of a past-due subscription, then drops to pastDuePlan', () => {
    const pastDue = layers({ status: 'past_due', graceUntil: 60_000 });
    expect(planInForce(config, 'acme', pastDue, 59_999)).toEqual({ planId: 'pro', source: 'billing', expiresAt: 60_000 });
    expect(planInForce(config, 'acme', pastDue, 60_000)).toEqual({ planId: 'free', source: 'billing', expiresAt: null });
  });

  it('returns a cancelled subscription to the default plan', () => {
    expect(planInForce(config, 'acme', layers({ status: 'canceled' }), 0)).toEqual({ planId: 'legacy', source: 'billing', expiresAt: null });
  });

  it("puts an admin's override above billing while it lasts, then billing applies again", () => {
    const both = layers({ status: 'active' }, { planId: 'legacy', expiresAt: 5000 });
    expect(planInForce(config, 'acme', both, 4999)).toEqual({ planId: 'legacy', source: 'override', expiresAt: 5000 });
    expect(planInForce(config, 'acme', both, 5000)).toEqual({ planId: 'pro', source: 'billing', expiresAt: null });
  });

  it('skips a layer naming a plan the config no longer has', () => {
    expect(planInForce(config, 'acme', layers({ paidPlanId: 'gone' }, { planId: 'gone-too', expiresAt: null }), 0)).toEqual({
      planId: 'free',
      source: 'config',
      expiresAt: null,
    });
  });
});
