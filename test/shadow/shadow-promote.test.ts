import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Shadow limits set and promoted at run time on a fleet of two gateway processes sharing one
 * Redis: a shadow set on one instance is evaluated by the other (it counts what it would refuse
 * and refuses nothing), and its promotion, one audited mutation on the first, is enforced by the
 * second.
 */

let redis: TestRedis;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  redis = await startTestRedis();
  const patch = (config: Record<string, any>) => {
    // Runtime changes reach the other instance within 200 ms; leases on, as shipped. A reply within
    // 1 s is Redis's (50 ms by default: a loaded machine could open the breaker, and the local
    // fallback, which decides while Redis is away, evaluates no shadow).
    config.limits = { ...config.limits, overridesPollMs: 200, storeTimeoutMs: 1000 };
    config.cache = { ...config.cache, enabled: false };
  };
  [a, b] = await Promise.all([startGatewayProcess({ redisUrl: redis.url, patch }), startGatewayProcess({ redisUrl: redis.url, patch })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function gql(gateway: GatewayProcess, token: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
}

const admin = (gateway: GatewayProcess, query: string, variables?: Record<string, unknown>) => gql(gateway, DEMO_TOKENS.platformAdmin, query, variables);

const SET = `mutation($input: ShadowLimitsInput!) { setShadowLimits(tenantId: "acme", input: $input) { tenantId shadowPlan source id wouldRefuse limits { name value } } }`;
const PROMOTE = `mutation { promoteShadowLimits(tenantId: "acme") { tenantId plan requestsPerMinute expiresAt setBy } }`;
const SHADOWS = `{ fleetUsage { shadowLimits { tenantId source id wouldRefuse firstRefusedAt lastRefusedAt refusals { clientId policy count } } } }`;
const AUDIT = `{ fleetUsage { auditTrail(tenantId: "acme", first: 10) { entries { action by before after plan limits { name value } } } } }`;
const VIEWER = '{ viewer { clientId } }';

const acmeShadow = async (gateway: GatewayProcess) => {
  const rows = (await admin(gateway, SHADOWS)).body.data.fleetUsage.shadowLimits as any[];
  return rows.find((r) => r.tenantId === 'acme');
};

describe('shadow limits at run time, across instances', () => {
  it('refuses other callers: only platform admins set, clear, promote and read them', async () => {
    const denied = await gql(a, DEMO_TOKENS.acmeAdmin, PROMOTE);
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.body.errors?.[0]?.message).toBe('Reading or changing shadow limits is for platform-admin keys only.');
    const unknown = await admin(a, 'mutation { promoteShadowLimits(tenantId: "nobody") { tenantId } }');
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.body.errors?.[0]?.message).toBe('Unknown tenant: "nobody"');
    const nothing = await admin(a, PROMOTE);
    expect(nothing.body.errors?.[0]?.message).toBe('No shadow limits cover tenant "acme": nothing to promote');
    const negative = await admin(a, SET, { input: { requestsPerMinute: -1 } });
    expect(negative.body.errors?.[0]?.message).toBe('input.requestsPerMinute must be 0 or more: -1');
  });

  it('a shadow set on one instance is evaluated on the other: counted, never enforced', async () => {
    const set = await admin(a, SET, { input: { requestsPerMinute: 5 } });
    expect(set.body.errors).toBeUndefined();
    expect(set.body.data.setShadowLimits).toMatchObject({ tenantId: 'acme', shadowPlan: 'free', source: 'runtime', wouldRefuse: 0 });
    expect(set.body.data.setShadowLimits.limits).toContainEqual({ name: 'requestsPerMinute', value: 5 });
    expect(await eventually(async () => (await acmeShadow(b))?.source === 'runtime', 5000)).toBe(true);

    // Eight requests to the other instance: all served (Free allows 100 a minute), three over the shadow's 5.
    for (let i = 0; i < 8; i++) expect((await gql(b, DEMO_TOKENS.acmeAdmin, VIEWER)).status).toBe(200);
    const shadow = await acmeShadow(a);
    expect(shadow.wouldRefuse).toBe(3);
    expect(shadow.refusals).toEqual([{ clientId: 'acme-admin', policy: 'minute', count: 3 }]);
    expect(Date.parse(shadow.lastRefusedAt)).toBeGreaterThanOrEqual(Date.parse(shadow.firstRefusedAt));
  });

  it('one audited mutation promotes it: the other instance enforces it, and the shadow stops', async () => {
    const promoted = await admin(a, PROMOTE);
    expect(promoted.body.errors).toBeUndefined();
    // The shadow named no plan: acme stays on the plan it is on (config), with the shadow's value.
    expect(promoted.body.data.promoteShadowLimits).toEqual({ tenantId: 'acme', plan: null, requestsPerMinute: 5, expiresAt: null, setBy: 'platform-ops' });

    // The other instance refuses acme past 5 a minute (it has sent 8 this minute).
    expect(
      await eventually(async () => {
        const answer = await gql(b, DEMO_TOKENS.acmeAdmin, VIEWER);
        return answer.status === 429 && answer.body.errors?.[0]?.extensions?.limit === 5;
      }, 5000),
    ).toBe(true);
    expect(await eventually(async () => (await acmeShadow(b)) === undefined, 5000)).toBe(true);

    const audit = (await admin(b, AUDIT)).body.data.fleetUsage.auditTrail.entries as any[];
    expect(audit.map((e) => e.action).slice(0, 2)).toEqual(['promote', 'shadow']);
    expect(audit[0]).toMatchObject({ action: 'promote', by: 'platform-ops', plan: null, before: 'free (config)' });
    expect(audit[0].limits).toEqual([{ name: 'requestsPerMinute', value: 5 }]);
  });
});
