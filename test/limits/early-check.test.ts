import { readFile } from 'node:fs/promises';
import { buildSchema, getOperationAST, parse } from 'graphql';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { TenantPrincipal } from '../../src/auth/principal.js';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../../src/config/demo.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createCostAnalyzer } from '../../src/cost/analyzer.js';
import { loadSchemaSdl } from '../../src/graph/load-schema.js';
import { createEarlyChecks, type EarlyChecks, type EarlyOutcome } from '../../src/limits/early-check.js';
import { createRedisLink } from '../../src/limits/fallback/redis-link.js';
import { createLimiter, SETTLE_CARRY_MS, type Limiter } from '../../src/limits/limiter.js';
import { createMemoryOverrides, type OverridesStore } from '../../src/limits/overrides.js';
import { requestCharge } from '../../src/limits/request-charge.js';
import { rootFieldsOf } from '../../src/limits/root-fields.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis } from '../../src/stores/redis.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * The limit check sent at the door (src/limits/early-check.ts): for an operation text seen
 * before, the check leaves as soon as the body is read. What a user must see is only that
 * nothing changed: the same decisions, the same headers, one check per request, and an early
 * charge that did not serve its request given back.
 */

const QUERY = '{ viewer { clientId } }';
const MINUTE_KEY = 'rl:{initech}:req:m';

let server: TestRedis;
beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  await server?.stop();
});

describe('createEarlyChecks on a real limiter and Redis', () => {
  let redis: Redis;
  let limiter: Limiter;
  let config: Config;
  let overrides: OverridesStore;
  let early: EarlyChecks;
  const outcomes: EarlyOutcome[] = [];
  const principal: TenantPrincipal = { kind: 'apiKey', clientId: 'initech-app', tenantId: 'initech', planId: 'enterprise', role: 'admin' };
  const tenant = 'early-unit';
  const used = async () => {
    const fields = await redis.hgetall(`rl:{${tenant}}:req:m`);
    return Number(fields.t ?? 0);
  };

  beforeAll(async () => {
    redis = createRedis(server.url, createLogger({ level: 'silent' }), { maxReconnectDelayMs: 250 });
    // The demo config plus a tenant of its own with one limit: 3 requests per minute.
    const demo = parseYaml(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
    demo.tenants[tenant] = { ...demo.tenants.initech, plan: 'unit' };
    demo.plans.unit = { ...demo.plans.enterprise, limits: { requestsPerMinute: 3 } };
    config = parseConfig(stringifyYaml(demo), 'early-check.test', {});
    principal.tenantId = tenant;
    limiter = createLimiter({
      shared: createRedisLimitStore({ redis }),
      link: createRedisLink(redis),
      divisor: () => 1,
      config: config.limits,
      logger: createLogger({ level: 'silent' }),
    });
    await limiter.start();
    overrides = createMemoryOverrides();
    const schema = buildSchema(await loadSchemaSdl());
    const analyzer = createCostAnalyzer({ schema });
    early = createEarlyChecks({
      limiter,
      overrides,
      config: () => config,
      estimate: (document, operationName, variables) => analyzer.estimate(document, operationName, variables).fieldCost,
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    const document = parse(QUERY);
    const operation = getOperationAST(document)!;
    early.remember(QUERY, undefined, { document, operation, rootFields: rootFieldsOf(schema, operation, {}) });
  });
  afterAll(async () => {
    await limiter?.close();
    redis?.disconnect();
  });

  /** The dimensions the limits plugin computes once the operation is resolved. */
  const resolvedDims = () =>
    requestCharge({
      config,
      principal,
      runtime: overrides.get(tenant),
      ip: '10.0.0.1',
      rootFields: ['Query.viewer'],
      usageOnly: false,
      pricedOnly: false,
      estimate: 1,
      now: Date.now(),
    }).dims;
  const door = (body: unknown = { query: QUERY }, headers: Record<string, string> = {}) => early.start({ principal, ip: '10.0.0.1', body, headers });

  it('sends the check of a known operation at the door, and the plugin uses its decision', async () => {
    const r1 = door();
    expect(r1).not.toBeNull();
    const claimed = early.claim(r1!, resolvedDims());
    expect(claimed).not.toBeNull();
    const { decision, source } = await claimed!.outcome;
    expect(source).toBe('shared');
    expect(decision.allowed).toBe(true);
    expect(decision.results[0]).toMatchObject({ limit: 3, used: 1, remaining: 2 });
    expect(await used()).toBe(1);
    // Claimed once: a second claim, or a release, finds nothing to do.
    expect(early.claim(r1!, resolvedDims())).toBeNull();
    early.release(r1!);
    expect(outcomes).toEqual(['used']);
  });

  it('sends nothing for an unknown operation, a dry run, another operation name or unusable variables', async () => {
    expect(door({ query: '{ viewer { role } }' })).toBeNull();
    expect(door({ query: QUERY }, { 'x-cost-dry-run': '1' })).toBeNull();
    expect(door({ query: QUERY, extensions: { dryRun: true } })).toBeNull();
    expect(door({ query: QUERY, operationName: 'Other' })).toBeNull();
    expect(door({ query: QUERY, variables: 'not an object' })).toBeNull();
    expect(door([{ query: QUERY }])).toBeNull();
    expect(await used()).toBe(1);
    expect(outcomes).toEqual(['used']);
  });

  it('refunds an early charge made on other dimensions than the resolved operation is charged (a runtime override in between)', async () => {
    const r2 = door();
    // A platform admin raises the tenant's limit between the door and the resolved operation.
    await overrides.set({ tenantId: tenant, planId: null, limits: { requestsPerMinute: 5 }, expiresAt: null, setBy: 'test', setAt: Date.now() });
    expect(early.claim(r2!, resolvedDims())).toBeNull();
    // The plugin then checks as it always did: that charge, and only it, remains.
    const { decision } = await limiter.consume(
      resolvedDims().map((d) => d.store),
      'open',
    );
    expect(decision.allowed).toBe(true);
    // The refund rode on that check (or goes out within SETTLE_CARRY_MS): 1 (r1) + 1 (r2's own check).
    expect(await eventually(async () => (await used()) === 2, SETTLE_CARRY_MS + 3000)).toBe(true);
    expect(outcomes).toEqual(['used', 'refunded']);
    await overrides.clear(tenant);
  });

  it('refunds an early charge whose request never reached the check (released when its response went out)', async () => {
    const r3 = door();
    early.release(r3!);
    expect(await eventually(async () => (await used()) === 2, SETTLE_CARRY_MS + 3000)).toBe(true);
    // Released once: claiming it afterwards finds nothing, and refunds nothing twice.
    expect(early.claim(r3!, resolvedDims())).toBeNull();
    early.release(r3!);
    expect(outcomes).toEqual(['used', 'refunded', 'refunded']);
  });

  it('sends nothing at the door while another check is waiting for Redis (under load checks batch when operations resolve)', async () => {
    const first = door();
    expect(first).not.toBeNull();
    expect(door()).toBeNull();
    await first!.outcome;
    early.release(first!);
    expect(await eventually(async () => (await used()) === 2, SETTLE_CARRY_MS + 3000)).toBe(true);
  });

  it('refunds nothing for an early check that refused: it charged nothing', async () => {
    const r4 = door(); // the third of 3: admitted
    expect((await early.claim(r4!, resolvedDims())!.outcome).decision.allowed).toBe(true);
    const r5 = door()!;
    await r5.outcome;
    early.release(r5);
    const refused = await early.claim(door()!, resolvedDims())!.outcome;
    expect(refused.decision.allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_CARRY_MS + 200));
    // r5 was refused at the door and released: nothing to give back, the window stays full.
    expect(await used()).toBe(3);
  });
});

describe('a gateway with the check at the door answers as one without it', () => {
  let early: TestGateway;
  let late: TestGateway;
  const patch = (earlyCheck: boolean) => (config: Record<string, any>) => {
    config.plans.enterprise.limits = { requestsPerMinute: 5, requestsPerDay: 'unlimited', requestsPerMonth: 'unlimited' };
    // Each test starts from an emptied window: no refusal remembered from the test before
    // (local-refusals.ts, tested on its own) may answer for Redis here.
    config.limits = { earlyCheck, localRefusalMaxMs: 1 };
    config.usage = { enabled: false };
  };
  beforeAll(async () => {
    early = await startTestGateway({ env: { REDIS_URL: server.url }, patch: patch(true) });
    late = await startTestGateway({ env: { REDIS_URL: server.url }, patch: patch(false) });
  });
  afterAll(async () => {
    await Promise.all([early?.close(), late?.close()]);
  });

  async function earlyChecks(gateway: TestGateway): Promise<Record<string, number>> {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(/^limit_early_checks_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }
  /** Eight identical requests: statuses and X-RateLimit-Remaining, each time from an empty window. */
  async function eight(gateway: TestGateway): Promise<[number, string | null][]> {
    const admin = (await import('ioredis')).Redis;
    const client = new admin(server.url);
    await client.del(MINUTE_KEY);
    client.disconnect();
    const seen: [number, string | null][] = [];
    for (let i = 0; i < 8; i++) {
      const response = await gateway.gql(DEMO_TOKENS.initechAdmin, QUERY);
      seen.push([response.status, response.headers.get('x-ratelimit-remaining')]);
    }
    return seen;
  }

  it('admits exactly the limit, with the same statuses and headers, one check per request', async () => {
    const withEarly = await eight(early);
    const without = await eight(late);
    const expected: [number, string | null][] = [
      [200, '4'],
      [200, '3'],
      [200, '2'],
      [200, '1'],
      [200, '0'],
      [429, '0'],
      [429, '0'],
      [429, '0'],
    ];
    expect(withEarly).toEqual(expected);
    expect(without).toEqual(expected);
    // The first request taught the gateway the operation; the seven after it were checked at the door.
    expect(await earlyChecks(early)).toEqual({ used: 7 });
    expect(await earlyChecks(late)).toEqual({});
  });

  it("keeps each request's own check when clients send the same request id at once", async () => {
    const admin = new (await import('ioredis')).Redis(server.url);
    try {
      await admin.del(MINUTE_KEY);
      await early.gql(DEMO_TOKENS.initechAdmin, QUERY);
      const responses = await Promise.all(
        Array.from({ length: 4 }, () => early.gql(DEMO_TOKENS.initechAdmin, QUERY, undefined, { 'x-request-id': 'same-id-for-all' })),
      );
      expect(responses.map((r) => r.headers.get('x-request-id'))).toEqual(Array(4).fill('same-id-for-all'));
      // Five requests, five charges, each answered with its own count.
      expect(responses.map((r) => r.headers.get('x-ratelimit-remaining')).sort()).toEqual(['0', '1', '2', '3']);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CARRY_MS + 300));
      expect(Number(await admin.hget(MINUTE_KEY, 't'))).toBe(5);
    } finally {
      admin.disconnect();
    }
  });

  it('gives back the early charge of a request refused before its operation is resolved (a malformed request)', async () => {
    const admin = new (await import('ioredis')).Redis(server.url);
    try {
      await admin.del(MINUTE_KEY);
      const before = await earlyChecks(early);
      expect((await early.gql(DEMO_TOKENS.initechAdmin, QUERY)).headers.get('x-ratelimit-remaining')).toBe('4');
      // A known operation, but `extensions` must be an object: Apollo refuses the request (400)
      // after the door sent its check, before any operation is resolved.
      const refused = await fetch(`${early.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
        body: JSON.stringify({ query: QUERY, extensions: 'not an object' }),
      });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(await refused.json())).toContain('extensions');
      // The refund rides on the next check: that request sees only the first one charged before it.
      expect((await early.gql(DEMO_TOKENS.initechAdmin, QUERY)).headers.get('x-ratelimit-remaining')).toBe('3');
      const after = await earlyChecks(early);
      expect({ used: after.used! - before.used!, refunded: (after.refunded ?? 0) - (before.refunded ?? 0) }).toEqual({ used: 2, refunded: 1 });
    } finally {
      admin.disconnect();
    }
  });
});
