import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { slotOf } from '../../src/stores/slots.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { startTestCluster, type TestCluster } from '../support/redis-cluster.js';

/**
 * The issue's repro, fixed: two gateway instances pointed at a real 3-master Redis Cluster
 * (REDIS_CLUSTER_NODES), with tenants whose hash slots are on three different masters (acme,
 * alpha, delta) and the fleet rollups on a fourth tag. Every Redis use works end to end: limits
 * (shared, exact across instances), overrides, usage and fleet usage, the field cache and its
 * invalidation, failed-auth counting, the instance heartbeat, readiness; and a master that
 * restarts empty is detected per master (only its tenants' admissions are written back).
 */
let cluster: TestCluster;
let admin: Cluster;
let gateways: TestGateway[];
/** Alert webhook deliveries (JSON bodies), from both instances. */
let hook: Server;
const alerts: { kind: string; tenantId: string; policy: string; threshold: number }[] = [];
let hookUrl = '';

const TOKENS = { alpha: 'test-alpha-admin', delta: 'test-delta-admin', hotel: 'test-hotel-admin', bravo: 'test-bravo-admin' };
const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const VIEWER = '{ viewer { clientId } }';
const USED = '{ usage { windows { policy used limit } } }';

const patch = (config: Record<string, any>) => {
  config.plans.free.limits = { requestsPerMinute: 10 };
  config.tenants.alpha = { displayName: 'Alpha', plan: 'free' };
  config.tenants.delta = { displayName: 'Delta', plan: 'free' };
  // Used only by the master-restart test, so their windows hold just what that test admits.
  config.tenants.hotel = { displayName: 'Hotel', plan: 'free' };
  config.tenants.bravo = { displayName: 'Bravo', plan: 'free' };
  for (const tenant of Object.keys(TOKENS) as (keyof typeof TOKENS)[]) {
    config.apiKeys.push({ id: `${tenant}-admin`, tenant, role: 'admin', sha256: sha(TOKENS[tenant]) });
  }
  config.limits = {
    decisionHeader: true,
    instanceHeartbeatMs: 200,
    overridesPollMs: 200,
    storeTimeoutMs: 1000,
    storeBreakerHalfOpenMs: 200,
    authFailuresPerIpPerMinute: 5,
  };
  config.cache = { timeoutMs: 1000 };
  config.alerts = { webhookUrl: hookUrl, webhookSecret: 'a-webhook-secret-for-tests' };
};

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      alerts.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
  cluster = await startTestCluster();
  admin = new Cluster(
    cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    { clusterRetryStrategy: () => 200 },
  );
  admin.on('error', () => {}); // a test restarts a master on purpose
  gateways = await Promise.all([1, 2].map(() => startTestGateway({ env: { REDIS_CLUSTER_NODES: cluster.seeds }, patch })));
  // An instance serves at once, deciding locally until its cluster client has loaded the slot map
  // and read the epoch markers (up to a few seconds on a loaded machine): the tests start after.
  for (const gateway of gateways) {
    if (!(await eventually(async () => decision(await gateway.gql(DEMO_TOKENS.globexAdmin, VIEWER)) === 'shared', 15_000)))
      throw new Error('gateway never decided through the cluster');
  }
}, 60_000);
afterAll(async () => {
  await Promise.all((gateways ?? []).map((g) => g.close()));
  admin?.disconnect();
  await cluster?.stop();
  await new Promise((resolve) => hook?.close(resolve));
});

const decision = (r: GqlResponse) => r.headers.get('x-ratelimit-decision')?.split(';')[0];
const minuteUsed = async (gateway: TestGateway, token: string) => {
  const r = await gateway.gql(token, USED);
  return r.body.data.usage.windows.find((w: any) => w.policy === 'minute')?.used as number;
};

describe('the gateway on a 3-master Redis Cluster', () => {
  it('has the test tenants and the fleet rollups on different masters (the setup the issue reproduced)', async () => {
    const owners = await Promise.all(['acme', 'alpha', 'delta'].map((tag) => cluster.ownerOf(slotOf(tag))));
    expect(new Set(owners.map((o) => o.port)).size).toBe(3);
    expect((await cluster.ownerOf(slotOf('_fleet'))).port).not.toBe((await cluster.ownerOf(slotOf('acme'))).port);
  });

  it('is ready, with the cluster state and slot map checked', async () => {
    const response = await fetch(`${gateways[0]!.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { config: 'ok', redis: 'ok' } });
  });

  it("tells a gateway given REDIS_URL of a cluster node that it needs REDIS_CLUSTER_NODES (the issue's repro said ready)", async () => {
    const misconfigured = await startTestGateway({ env: { REDIS_URL: `redis://${cluster.nodes[0]!.address}` }, patch });
    try {
      const response = await fetch(`${misconfigured.url}/readyz`);
      expect(response.headers.get('x-gateway-degraded')).toBe('redis');
      expect(await response.json()).toEqual({
        status: 'degraded',
        checks: { config: 'ok', redis: 'failed: REDIS_URL points at a Redis Cluster node: set REDIS_CLUSTER_NODES (redis.cluster.nodes) instead' },
        degraded: ['redis'],
      });
    } finally {
      await misconfigured.close();
    }
  });

  it("enforces each tenant's limit exactly across both instances, decided by Redis, whichever master holds it", async () => {
    for (const token of [DEMO_TOKENS.acmeAdmin, TOKENS.alpha, TOKENS.delta]) {
      const responses = await Promise.all(Array.from({ length: 14 }, (_, i) => gateways[i % 2]!.gql(token, VIEWER)));
      expect(
        responses.filter((r) => r.status === 200),
        token,
      ).toHaveLength(10);
      expect(
        responses.filter((r) => r.status === 429),
        token,
      ).toHaveLength(4);
      // Redis decided every admission; a refusal may be one Redis made moments before, replayed at the door.
      expect(
        responses.filter((r) => decision(r) !== 'shared' && !(decision(r) === 'remembered' && r.status === 429)),
        token,
      ).toEqual([]);
    }
  });

  it('fires each limit alert once for the fleet, though both instances saw the tenant cross it', async () => {
    const fired = (tenantId: string) =>
      alerts.filter((a) => a.kind === 'limit_threshold' && a.tenantId === tenantId && a.policy === 'minute').map((a) => a.threshold);
    const tenants = ['acme', 'alpha', 'delta'];
    expect(await eventually(() => tenants.every((t) => fired(t).length >= 2))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would have arrived by now
    for (const tenant of tenants)
      expect(
        fired(tenant).sort((a, b) => a - b),
        tenant,
      ).toEqual([80, 100]);
  });

  it("applies a platform admin's limit change on every instance", async () => {
    const set = await gateways[0]!.gql(
      DEMO_TOKENS.platformAdmin,
      'mutation { setTenantLimits(tenantId: "delta", input: { requestsPerMinute: 3, expiresInSeconds: 60 }) { tenantId requestsPerMinute } }',
    );
    expect(set.body.errors).toBeUndefined();
    expect(await eventually(async () => (await gateways[1]!.gql(TOKENS.delta, VIEWER)).headers.get('x-ratelimit-limit') === '3')).toBe(true);
    const cleared = await gateways[1]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { clearTenantLimits(tenantId: "delta") }');
    expect(cleared.body.errors).toBeUndefined();
    expect(await eventually(async () => (await gateways[0]!.gql(TOKENS.delta, VIEWER)).headers.get('x-ratelimit-limit') === '10')).toBe(true);
    // The audit log (one list, one MULTI) holds both changes, newest first, for either instance.
    const audit = await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, '{ fleetUsage { limitChanges(tenantId: "delta") { action tenantId } } }');
    expect(audit.body.errors).toBeUndefined();
    expect(audit.body.data.fleetUsage.limitChanges).toEqual([
      { action: 'clear', tenantId: 'delta' },
      { action: 'set', tenantId: 'delta' },
    ]);
  });

  it('counts an @rateLimit field across both instances (10 updateCustomer calls a minute per tenant)', async () => {
    const responses: GqlResponse[] = [];
    for (let i = 0; i < 12; i++)
      responses.push(await gateways[i % 2]!.gql(DEMO_TOKENS.globexAdmin, `mutation { updateCustomer(id: "cus_2", input: { name: "Name ${i}" }) { id } }`));
    const limited = responses.filter((r) => r.body.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(responses.filter((r) => r.body.data?.updateCustomer?.id === 'cus_2')).toHaveLength(10);
    expect(limited).toHaveLength(2);
    expect(limited[0]!.body.errors![0]!.extensions).toMatchObject({ dimension: 'field', policy: 'Mutation.updateCustomer' });
  });

  it('shares trusted documents: registered on one instance, run by id on the other', async () => {
    const body = 'query Names { products(first: 2) { name } }';
    const id = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const registered = await gateways[0]!.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id } }',
      { d: [{ body }] },
    );
    expect(registered.body.data.registerTrustedDocuments).toEqual([{ id }]);
    const response = await fetch(`${gateways[1]!.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: id }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.products).toHaveLength(2);
  });

  it('meters usage for tenants on different masters and reads it back, per tenant and fleet-wide', async () => {
    // 14 requests each from the limits test (10 admitted, 4 throttled), metered within a second.
    const requests = async (token: string) => {
      const r = await gateways[1]!.gql(token, '{ usage { summary(granularity: MINUTE) { requests throttled } } }');
      return r.body.data?.usage.summary as { requests: number; throttled: number } | undefined;
    };
    expect(await eventually(async () => (await requests(TOKENS.alpha))?.throttled === 4)).toBe(true);
    expect((await requests(TOKENS.alpha))!.requests).toBeGreaterThanOrEqual(14);
    expect((await requests(DEMO_TOKENS.acmeAdmin))!.throttled).toBe(4);
    const fleet = async () => {
      const r = await gateways[0]!.gql(
        DEMO_TOKENS.platformAdmin,
        '{ fleetUsage { tenants(granularity: MINUTE) { tenantId totals { requests throttled } } plans(granularity: MINUTE) { plan totals { requests } } } }',
      );
      expect(r.body.errors).toBeUndefined();
      const tenants = new Map<string, { requests: number; throttled: number }>(r.body.data.fleetUsage.tenants.map((t: any) => [t.tenantId, t.totals]));
      return { tenants, free: r.body.data.fleetUsage.plans.find((p: any) => p.plan === 'free')?.totals.requests as number };
    };
    // Each instance flushes its own share of the fleet rollups within a second.
    expect(
      await eventually(async () => {
        const { tenants } = await fleet();
        return ['acme', 'alpha', 'delta'].every((t) => (tenants.get(t)?.throttled ?? 0) >= 4);
      }),
    ).toBe(true);
    const { tenants, free } = await fleet();
    // delta was also throttled under its 3-per-minute override in the test before.
    for (const tenant of ['acme', 'alpha']) expect(tenants.get(tenant)?.throttled, tenant).toBe(4);
    expect(free).toBeGreaterThanOrEqual(42);
  });

  it('serves the field cache from the cluster: a hit on the other instance, dropped by a mutation anywhere', async () => {
    const fields = (r: GqlResponse): Record<string, string> => r.body.extensions?.cache?.fields ?? {};
    const query = '{ product(id: "prd_1") { inventory { reserved } } }';
    await gateways[1]!.gql(DEMO_TOKENS.globexAdmin, query);
    expect(fields(await gateways[1]!.gql(DEMO_TOKENS.globexAdmin, query))['product.inventory']).toBe('HIT');
    const placed = await gateways[0]!.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 2 }] }) { id } }',
    );
    expect(placed.body.errors).toBeUndefined();
    expect(fields(await gateways[1]!.gql(DEMO_TOKENS.globexAdmin, query))['product.inventory']).toBe('MISS');
  });

  it('counts failed authentications per IP across instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await gateways[i % 2]!.gql(`wrong-key-${i}`, VIEWER)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await gateways[0]!.gql(DEMO_TOKENS.globexAdmin, VIEWER)).status).toBe(200);
  });

  it('counts both instances in the heartbeat', async () => {
    expect(await eventually(async () => (await admin.zcard('gw:instances')) === 2)).toBe(true);
  });

  it("after a master restarts empty, writes back only that master's tenants, and limits stay exact", async () => {
    const lost = await cluster.ownerOf(slotOf('hotel'));
    expect((await cluster.ownerOf(slotOf('bravo'))).port).not.toBe(lost.port);
    // 3 admissions each, over both instances.
    for (let i = 0; i < 3; i++) {
      for (const token of [TOKENS.hotel, TOKENS.bravo]) expect((await gateways[i % 2]!.gql(token, VIEWER)).status).toBe(200);
    }
    expect(await minuteUsed(gateways[0]!, TOKENS.hotel)).toBe(3);

    await cluster.kill(lost.port);
    // A cluster without that master's slots reports it, and the instance serves degraded.
    expect(await eventually(async () => ((await (await fetch(`${gateways[0]!.url}/readyz`)).json()) as any).status === 'degraded', 10_000)).toBe(true);
    await cluster.restart(lost.port);
    await cluster.waitHealthy();
    expect(await eventually(async () => ((await (await fetch(`${gateways[0]!.url}/readyz`)).json()) as any).status === 'ready', 10_000)).toBe(true);

    // Operators heard of it: one master failing leaves the cluster client 'ready', yet each
    // instance that lost its connection to it alerted (and counted the errors), and said so again
    // once the cluster was whole.
    const redisAlerts = () =>
      (alerts as unknown as { kind: string; details: { component: string; instance: string } }[]).filter((a) => a.kind.startsWith('redis_'));
    const instancesWith = (kind: string) =>
      new Set(
        redisAlerts()
          .filter((a) => a.kind === kind)
          .map((a) => a.details.instance),
      );
    expect(instancesWith('redis_unavailable').size).toBeGreaterThan(0);
    expect(await eventually(async () => [...instancesWith('redis_unavailable')].every((i) => instancesWith('redis_recovered').has(i)), 10_000)).toBe(true);
    const errorsCounted = await Promise.all(
      gateways.map(async (g) => /^redis_errors_total\{component="redis"\} [1-9]/m.test(await (await fetch(`${g.url}/metrics`)).text())),
    );
    expect(errorsCounted).toContain(true);

    // Both instances decide through Redis again, after writing back hotel's 3 (its master lost
    // them) and leaving bravo's 3 alone (its master kept them: written again they would be 6).
    for (const gateway of gateways) {
      expect(await eventually(async () => decision(await gateway.gql(DEMO_TOKENS.globexAdmin, VIEWER)) === 'shared', 10_000)).toBe(true);
    }
    expect(await minuteUsed(gateways[1]!, TOKENS.hotel)).toBe(3);
    expect(await minuteUsed(gateways[1]!, TOKENS.bravo)).toBe(3);
    // And the remaining 7 of hotel's 10 are admitted, exactly.
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => gateways[i % 2]!.gql(TOKENS.hotel, VIEWER)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(7);
  }, 60_000);
});
