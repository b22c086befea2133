import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { ANOMALY_RULE } from '../../src/resolvers/fleet-console.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const CONSUMERS = `query($filter: FleetFilter) { fleetUsage { consumers(filter: $filter) { tenantId tenantName plan matching totals { requests throttled } } } }`;

describe('fleetUsage for the platform console', () => {
  let gateway: TestGateway;
  const admin = (query: string, variables?: Record<string, unknown>) => gateway.gql(DEMO_TOKENS.platformAdmin, query, variables);

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.tenants.acme.overrides = { requestsPerMinute: 3 };
        c.usage = { flushIntervalMs: 100 };
      },
    });
    // globex: 4 ok requests from two keys; acme: 3 ok and 2 refused by its minute limit.
    for (let i = 0; i < 3; i++) await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    await gateway.gql(DEMO_TOKENS.globexViewer, '{ products(first: 1) { id } }');
    for (let i = 0; i < 5; i++) await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(() => gateway?.close());

  it('ranks consumers and narrows them by plan, key, root field and status', async () => {
    const all = (await admin(CONSUMERS)).body.data.fleetUsage.consumers;
    expect(all).toEqual([
      { tenantId: 'acme', tenantName: 'Acme Corp', plan: 'free', matching: 5, totals: { requests: 5, throttled: 2 } },
      { tenantId: 'globex', tenantName: 'Globex', plan: 'pro', matching: 4, totals: { requests: 4, throttled: 0 } },
    ]);
    const byPlan = (await admin(CONSUMERS, { filter: { plan: 'pro' } })).body.data.fleetUsage.consumers;
    expect(byPlan.map((r: any) => r.tenantId)).toEqual(['globex']);
    const byKey = (await admin(CONSUMERS, { filter: { client: 'globex-viewer' } })).body.data.fleetUsage.consumers;
    expect(byKey).toMatchObject([{ tenantId: 'globex', matching: 1 }]);
    const byField = (await admin(CONSUMERS, { filter: { rootField: 'Query.products' } })).body.data.fleetUsage.consumers;
    expect(byField).toMatchObject([{ tenantId: 'globex', matching: 1 }]);
    const throttled = (await admin(CONSUMERS, { filter: { status: 'THROTTLED', throttledBy: 'requests' } })).body.data.fleetUsage.consumers;
    expect(throttled).toMatchObject([{ tenantId: 'acme', matching: 2 }]);
    const none = (await admin(CONSUMERS, { filter: { status: 'THROTTLED', throttledBy: 'quota' } })).body.data.fleetUsage.consumers;
    expect(none).toEqual([]);
  });

  it('refuses filters it cannot answer with BAD_USER_INPUT', async () => {
    const both = await admin(CONSUMERS, { filter: { client: 'globex-admin', rootField: 'Query.viewer' } });
    expect(both.body.errors?.[0]).toMatchObject({
      message: 'filter by API key or by root field, not both: usage is not stored per key and root field together',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const unknown = await admin(CONSUMERS, { filter: { client: 'nobody' } });
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'unknown API key: "nobody"', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('adds up the fleet history per plan, or the filtered series', async () => {
    const q = `query($filter: FleetFilter) { fleetUsage { history(filter: $filter, granularity: HOUR) { totals { requests throttled latencyP50Ms } } } }`;
    const sum = (points: any[]) => points.reduce((n, p) => n + p.totals.requests, 0);
    expect(sum((await admin(q)).body.data.fleetUsage.history)).toBe(9);
    expect(sum((await admin(q, { filter: { plan: 'free' } })).body.data.fleetUsage.history)).toBe(5);
    expect(sum((await admin(q, { filter: { tenantId: 'globex', client: 'globex-admin' } })).body.data.fleetUsage.history)).toBe(3);
  });

  it('opens one tenant as the tenant sees it, without per-key windows', async () => {
    const res = await admin(
      `{ fleetUsage { tenant(tenantId: "acme") { tenant { displayName } limits { requestsPerMinute } windows { policy used limit } byClient { key totals { requests } } forecast { policy } } nobody: tenant(tenantId: "nobody") { tenant { id } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const t = res.body.data.fleetUsage.tenant;
    expect(t.tenant.displayName).toBe('Acme Corp');
    expect(t.limits.requestsPerMinute).toBe(3);
    expect(t.windows.map((w: any) => w.policy)).not.toContain('client-minute');
    expect(t.windows.find((w: any) => w.policy === 'minute')).toEqual({ policy: 'minute', used: 3, limit: 3 });
    expect(t.byClient).toEqual([{ key: 'acme-admin', totals: { requests: 5 } }]);
    expect(t.forecast.map((f: any) => f.policy)).toEqual(['day', 'month', null]);
    expect(res.body.data.fleetUsage.nobody).toBeNull();
  });

  it('lists limit changes with who made them, and health, and the anomaly rule', async () => {
    await admin(`mutation { setTenantLimits(tenantId: "globex", input: { requestsPerMinute: 50, expiresInSeconds: 600 }) { tenantId } }`);
    await admin(`mutation { clearTenantLimits(tenantId: "globex") }`);
    const res = await admin(
      `{ fleetUsage { limitChanges(tenantId: "globex") { by tenantId action plan limits { name value } expiresAt } health { redis limitStore downstream { service breaker } } anomalyRule } }`,
    );
    const { limitChanges, health, anomalyRule } = res.body.data.fleetUsage;
    expect(limitChanges).toMatchObject([
      { by: 'platform-ops', tenantId: 'globex', action: 'clear', plan: null, limits: [], expiresAt: null },
      { by: 'platform-ops', tenantId: 'globex', action: 'set', plan: null, limits: [{ name: 'requestsPerMinute', value: 50 }] },
    ]);
    expect(Date.parse(limitChanges[1].expiresAt) - Date.now()).toBeGreaterThan(590_000);
    expect(health).toEqual({
      redis: 'not configured',
      limitStore: 'local',
      downstream: ['accounts', 'catalog', 'orders', 'inventory'].map((service) => ({ service, breaker: 'closed' })),
    });
    expect(anomalyRule).toBe(ANOMALY_RULE);
  });

  it('refuses every console field to a tenant key', async () => {
    for (const field of [
      'consumers { tenantId }',
      'history { start }',
      'tenant(tenantId: "acme") { tenant { id } }',
      'directory { id }',
      'limitChanges { at }',
      'health { redis }',
    ]) {
      const res = await gateway.gql(DEMO_TOKENS.initechAdmin, `{ fleetUsage { ${field} } }`);
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.[0]?.extensions?.code, field).toBe('FORBIDDEN');
    }
  });
});
