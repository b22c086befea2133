import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

/**
 * One truth about a tenant's plan: `viewer.tenant.plan`, `usage.limits.plan` and the limits
 * applied agree after every kind of change, say where the plan comes from, and each change
 * leaves an audit entry with the plan before and after.
 */
let redis: TestRedis;
let gateway: TestGateway;

const PLANS = `{
  viewer { tenant { plan { id source expiresAt } } }
  usage { limits { plan { id source expiresAt } requestsPerMinute } }
}`;
const AUDIT = `query ($after: String) { fleetUsage { auditTrail(tenantId: "acme", first: 1, after: $after) {
  entries { id by action source before after } endCursor hasNextPage } } }`;

async function plans() {
  const r = await gateway.gql(DEMO_TOKENS.acmeAdmin, PLANS);
  expect(r.body.errors).toBeUndefined();
  const { viewer, usage } = r.body.data;
  // The same plan, source and expiry in both places, and the limits that plan gives.
  expect(viewer.tenant.plan).toEqual(usage.limits.plan);
  return { ...viewer.tenant.plan, requestsPerMinute: usage.limits.requestsPerMinute, header: r.headers.get('ratelimit-policy') };
}

/** Every audit entry of acme, newest first, read one page at a time. */
async function auditTrail() {
  const entries: Record<string, unknown>[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const r = await gateway.gql(DEMO_TOKENS.platformAdmin, AUDIT, { after });
    expect(r.body.errors).toBeUndefined();
    const trail: { entries: Record<string, unknown>[]; endCursor: string | null; hasNextPage: boolean } = r.body.data.fleetUsage.auditTrail;
    entries.push(...trail.entries.map(({ id: _id, ...rest }) => rest));
    if (!trail.hasNextPage) break;
    after = trail.endCursor;
  }
  return entries;
}

beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, patch: (c) => (c.limits = { overridesPollMs: 200 }), configPollIntervalMs: 200 });
});
afterAll(async () => {
  await gateway?.close();
  await redis?.stop();
});

describe('one truth about a tenant plan', () => {
  it('reports the config plan, then an admin override with its expiry, then the config plan again, with an audit entry for each change', async () => {
    expect(await plans()).toEqual({
      id: 'free',
      source: 'CONFIG',
      expiresAt: null,
      requestsPerMinute: 100,
      header: expect.stringContaining('"minute";q=100;'),
    });

    const set = await gateway.gql(
      DEMO_TOKENS.platformAdmin,
      'mutation { setTenantLimits(tenantId: "acme", input: { plan: "pro", expiresInSeconds: 2 }) { plan } }',
    );
    expect(set.body.errors).toBeUndefined();
    const overridden = await plans();
    expect(overridden).toMatchObject({ id: 'pro', source: 'OVERRIDE', requestsPerMinute: 1000, header: expect.stringContaining('"minute";q=1000;') });
    expect(Date.parse(overridden.expiresAt)).toBeGreaterThan(Date.now());

    expect(await eventually(async () => (await plans()).source === 'CONFIG', 5000)).toBe(true);
    expect(await plans()).toMatchObject({ id: 'free', expiresAt: null, requestsPerMinute: 100 });

    expect(await eventually(async () => (await auditTrail()).length === 2, 3000)).toBe(true);
    expect(await auditTrail()).toEqual([
      { by: 'clock', action: 'expired', source: 'expiry', before: 'pro (override)', after: 'free (config)' },
      { by: 'platform-ops', action: 'set', source: 'admin', before: 'free (config)', after: 'pro (override)' },
    ]);
  });

  it('grandfathers a tenant that names no plan into defaultPlan on reload, and audits the move once', async () => {
    await gateway.writeConfig((c) => {
      delete c.tenants.acme.plan;
      c.defaultPlan = 'pro';
      c.limits = { overridesPollMs: 200 };
    });
    expect(await eventually(async () => (await plans()).source === 'DEFAULT', 8000)).toBe(true);
    expect(await plans()).toMatchObject({ id: 'pro', expiresAt: null, requestsPerMinute: 1000 });
    expect(await eventually(async () => (await auditTrail())[0]?.action === 'reload', 3000)).toBe(true);
    expect((await auditTrail())[0]).toEqual({ by: 'config', action: 'reload', source: 'config', before: 'free (config)', after: 'pro (default)' });
  });

  it('refuses a cursor that is not one', async () => {
    const r = await gateway.gql(DEMO_TOKENS.platformAdmin, AUDIT, { after: 'nonsense' });
    expect(r.body.errors![0]).toMatchObject({ message: 'after must be an endCursor from a previous page: "nonsense"', extensions: { code: 'BAD_USER_INPUT' } });
  });
});
