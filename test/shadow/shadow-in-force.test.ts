import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { effectiveLimits } from '../../src/limits/effective-limits.js';
import type { RuntimeOverride } from '../../src/limits/overrides.js';
import type { RuntimeShadow } from '../../src/shadow/runtime-shadows.js';
import { shadowInForce } from '../../src/shadow/shadow-in-force.js';

/** Which shadow covers a tenant, and what it evaluates: the config's layers and the runtime one. */

const demo = parse(readFileSync(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
function configWith(patch: (config: Record<string, any>) => void): Config {
  const copy = structuredClone(demo);
  patch(copy);
  return parseConfig(stringify(copy), 'gateway.yaml', {});
}

const NOW = Date.UTC(2026, 11, 6, 12);
const inForce = (config: Config, tenantId: string, runtime?: RuntimeOverride, shadow?: RuntimeShadow) =>
  shadowInForce(config, tenantId, effectiveLimits(config, tenantId, runtime, NOW), runtime, shadow, NOW);

describe('the shadow in force', () => {
  const config = configWith((c) => {
    c.plans['free-half'] = { displayName: 'Free (halved)', limits: { requestsPerMinute: 50, requestsPerDay: 500 } };
    c.plans.free.shadow = { plan: 'free-half' };
    c.tenants.globex.shadow = { limits: { requestsPerMinute: 700 } };
    c.tenants.acme.overrides = { requestsPerDay: 800 };
  });

  it("a plan's shadow covers its tenants, evaluated as that plan with the tenant's overrides over it", () => {
    const acme = inForce(config, 'acme')!;
    expect(acme).toMatchObject({ source: 'plan', planId: 'free-half', limits: { requestsPerMinute: 50, requestsPerDay: 800 } });
    // No shadow for a plan without one.
    expect(inForce(config, 'initech')).toBeNull();
  });

  it("a tenant's own shadow: its plan's limits with the shadow's values over them", () => {
    expect(inForce(config, 'globex')).toMatchObject({ source: 'tenant', planId: 'pro', limits: { requestsPerMinute: 700, costPerMinute: 20000 } });
  });

  it("a runtime shadow replaces the config's; a null one switches it off; a runtime override's values apply under the shadow's", () => {
    const runtime: RuntimeShadow = { tenantId: 'acme', spec: { limits: { costPerMinute: 10 } }, setBy: 'platform-ops', setAt: NOW };
    const override: RuntimeOverride = { tenantId: 'acme', planId: null, limits: { requestsPerMinute: 90 }, expiresAt: null, setBy: 'platform-ops', setAt: NOW };
    expect(inForce(config, 'acme', override, runtime)).toMatchObject({
      source: 'runtime',
      planId: 'free',
      limits: { requestsPerMinute: 90, costPerMinute: 10 },
    });
    expect(inForce(config, 'acme', undefined, { ...runtime, spec: null })).toBeNull();
  });

  it('names its counters by what it evaluates: the same limits, the same id on every instance; changed limits, a new id', () => {
    const a = inForce(config, 'acme')!;
    const again = inForce(
      configWith((c) => {
        c.plans['free-half'] = { displayName: 'Free (halved)', limits: { requestsPerDay: 500, requestsPerMinute: 50 } };
        c.plans.free.shadow = { plan: 'free-half' };
        c.tenants.acme.overrides = { requestsPerDay: 800 };
      }),
      'acme',
    )!;
    expect(again.id).toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{10}$/);
    const changed = inForce(config, 'acme', { tenantId: 'acme', planId: null, limits: { requestsPerMinute: 60 }, expiresAt: null, setBy: 'x', setAt: NOW })!;
    expect(changed.id).not.toBe(a.id);
  });

  it('refuses a config whose shadow names an unknown plan', () => {
    let error: unknown;
    try {
      configWith((c) => {
        c.plans.free.shadow = { plan: 'gold' };
        c.tenants.acme.shadow = { plan: 'silver', limits: {} };
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'plans.free.shadow.plan', message: 'unknown plan "gold"' },
      { path: 'tenants.acme.shadow.plan', message: 'unknown plan "silver"' },
    ]);
  });
});
