import { Writable } from 'node:stream';
import { graphql, type GraphQLSchema } from 'graphql';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import type { FieldCache, RefusalReason } from '../../src/cache/field-cache.js';
import { checkStaticScope } from '../../src/cache/static-reads.js';
import type { GatewayContext } from '../../src/graph/context.js';
import type { RequestState } from '../../src/graph/request-state.js';
import { apiKey, createTestCache, type TestCache, testSchema } from './support.js';

/**
 * Issue 9, defect 4: whatever a resolver reads of its caller is tracked for every scope, and a
 * value that depends on more of the caller than its scope keys on is never stored in that scope:
 * the field is narrowed (PUBLIC -> TENANT, TENANT -> ROLE or USER, anything -> not cached for
 * per-request data), with a log line and a metric. The resolvers read the caller through helpers,
 * which the static check cannot see; the last tests are the static check itself.
 */
const TYPE_DEFS = /* GraphQL */ `
  type Query {
    plan: String @cached(ttl: 60, scope: PUBLIC)
    keyName: String @cached(ttl: 60)
    roleName: String @cached(ttl: 60)
    address: String @cached(ttl: 60, scope: USER)
    tenantOnly: String @cached(ttl: 60)
  }
`;

// Helpers: the static check reads the resolver's own text only, so these go unseen there.
const planOf = (ctx: GatewayContext) => ctx.state.decided?.planId ?? 'none';
const keyOf = (ctx: GatewayContext) => (ctx.principal as { clientId: string }).clientId;
const roleOf = (ctx: GatewayContext) => (ctx.principal as { role: string }).role;
const addressOf = (ctx: GatewayContext) => ctx.ip;
const tenantOf = (ctx: GatewayContext) => (ctx.principal as { tenantId: string }).tenantId;

let calls: Record<string, number>;
const counted = (name: string, read: (ctx: GatewayContext) => string) => (_: unknown, __: unknown, ctx: GatewayContext) => {
  calls[name] = (calls[name] ?? 0) + 1;
  return read(ctx);
};
const resolvers = {
  Query: {
    plan: counted('plan', planOf),
    keyName: counted('keyName', keyOf),
    roleName: counted('roleName', roleOf),
    address: counted('address', addressOf),
    tenantOnly: counted('tenantOnly', tenantOf),
  },
};

let cache: TestCache;
let fieldCache: FieldCache;
let schema: GraphQLSchema;
let refused: { field: string; reason: RefusalReason }[];
let logLines: Record<string, unknown>[];

beforeEach(async () => {
  calls = {};
  refused = [];
  logLines = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  cache = createTestCache(undefined, {}, { logger, onRefused: (field, reason) => refused.push({ field, reason }) });
  fieldCache = cache.fieldCache;
  schema = await testSchema(TYPE_DEFS, resolvers, fieldCache);
});
afterEach(async () => {
  await cache.close();
});

async function ask(principal: Principal, query: string, extra: { planId?: string; ip?: string } = {}) {
  const ip = extra.ip ?? '10.0.0.1';
  const state: RequestState = {
    accepted: { principal, ip, startedAt: Date.now() },
    ...(extra.planId ? { decided: { planId: extra.planId, costBudget: null, throttled: null } } : {}),
  };
  const contextValue = { principal, state, ip, requestId: 'test', loaders: null } as unknown as GatewayContext;
  const result = await graphql({ schema, source: query, contextValue });
  expect(result.errors).toBeUndefined();
  return { data: result.data as Record<string, string>, fields: fieldCache.report(state)?.fields ?? {} };
}

const acme = apiKey('acme', 'admin');
const globex = apiKey('globex', 'admin');

describe('caller reads are tracked for every scope', () => {
  it("PUBLIC reading the request's state (the plan): each caller gets its own, nothing is stored", async () => {
    expect((await ask(acme, '{ plan }', { planId: 'free' })).data.plan).toBe('free');
    expect((await ask(globex, '{ plan }', { planId: 'pro' })).data.plan).toBe('pro');
    expect((await ask(acme, '{ plan }', { planId: 'free' })).data.plan).toBe('free');
    const again = await ask(globex, '{ plan }', { planId: 'pro' });
    expect(again.data.plan).toBe('pro');
    expect(again.fields).toEqual({});
    expect(calls.plan).toBe(4);
    expect(refused[0]).toEqual({ field: 'Query.plan', reason: 'scope' });
  });

  it('TENANT reading the key id: narrowed to USER, so another key of the tenant never gets it', async () => {
    const one = apiKey('globex', 'admin', 'key-one');
    const two = apiKey('globex', 'admin', 'key-two');
    expect((await ask(one, '{ keyName }')).data.keyName).toBe('key-one');
    expect((await ask(two, '{ keyName }')).data.keyName).toBe('key-two');
    expect((await ask(one, '{ keyName }')).data.keyName).toBe('key-one');
    const warm = await ask(one, '{ keyName }');
    expect(warm).toEqual({ data: { keyName: 'key-one' }, fields: { keyName: 'HIT' } });
    expect((await ask(two, '{ keyName }')).data.keyName).toBe('key-two');
    expect(refused).toEqual([{ field: 'Query.keyName', reason: 'scope' }]);
    expect(logLines).toEqual([
      expect.objectContaining({
        field: 'Query.keyName',
        reason: 'scope',
        scope: 'TENANT',
        narrowedTo: 'USER',
        msg: '@cached field read more of the caller (USER) than its scope TENANT keys on: cached per USER instead',
      }),
    ]);
  });

  it('TENANT reading the role: narrowed to ROLE, so a viewer never gets what an admin read', async () => {
    const viewer = apiKey('globex', 'viewer');
    expect((await ask(globex, '{ roleName }')).data.roleName).toBe('admin');
    expect((await ask(viewer, '{ roleName }')).data.roleName).toBe('viewer');
    expect((await ask(apiKey('globex', 'admin', 'another-admin-key'), '{ roleName }')).data.roleName).toBe('admin');
    expect((await ask(apiKey('globex', 'admin', 'third-admin-key'), '{ roleName }')).fields).toEqual({ roleName: 'HIT' });
  });

  it("USER reading the caller's address: not cached at all (the same key calls from two addresses)", async () => {
    expect((await ask(globex, '{ address }', { ip: '10.0.0.1' })).data.address).toBe('10.0.0.1');
    expect((await ask(globex, '{ address }', { ip: '10.0.0.2' })).data.address).toBe('10.0.0.2');
    expect((await ask(globex, '{ address }', { ip: '10.0.0.2' })).fields).toEqual({});
  });

  it('a TENANT field reading only the tenant stays TENANT: shared by every key of the tenant', async () => {
    await ask(globex, '{ tenantOnly }');
    expect(await ask(apiKey('globex', 'viewer', 'other'), '{ tenantOnly }')).toEqual({ data: { tenantOnly: 'globex' }, fields: { tenantOnly: 'HIT' } });
    expect((await ask(acme, '{ tenantOnly }')).data.tenantOnly).toBe('acme');
    expect(refused).toEqual([]);
  });

  it('concurrent callers who join a narrowed fill get their own value', async () => {
    const keys = ['k1', 'k2', 'k3', 'k1', 'k2'].map((id) => apiKey('globex', 'admin', id));
    const results = await Promise.all(keys.map((p) => ask(p, '{ keyName }')));
    expect(results.map((r) => r.data.keyName)).toEqual(['k1', 'k2', 'k3', 'k1', 'k2']);
  });
});

describe('the static check sees what a resolver reads in its own text', () => {
  it.each([
    ['PUBLIC', '(_root, _args, ctx) => ctx.state.planId', 'state', 'request', 'do not cache it'],
    ['PUBLIC', '(_root, _args, ctx) => tenantScope(ctx).loaders', 'tenantScope', 'tenant', 'use scope: TENANT'],
    ['TENANT', '(_root, _args, { principal }) => principal.role', 'role', 'role', 'use scope: ROLE'],
    ['ROLE', '(_root, _args, ctx) => ctx.principal.clientId', 'clientId', 'user', 'use scope: USER'],
    ['USER', '(_root, _args, ctx) => ctx.ip', 'ip', 'request', 'do not cache it'],
  ] as const)('%s resolver `%s` fails the check', (scope, source, word, what, advice) => {
    const resolve = new Function('tenantScope', `return ${source}`)(() => ({}));
    expect(() => checkStaticScope('Query.f', scope, resolve)).toThrow(
      `@cached(scope: ${scope}) on Query.f: its resolver reads "${word}", which depends on the caller's ${what}; a ${scope} entry would serve it to callers who differ there (${advice})`,
    );
  });

  it('comments and strings do not count; reading within the scope passes', () => {
    expect(() => checkStaticScope('Query.f', 'PUBLIC', new Function("return (_root, _args, ctx) => /* ctx.state */ 'state: ' + 'role'")())).not.toThrow();
    expect(() => checkStaticScope('Query.f', 'ROLE', new Function('return (_root, _args, ctx) => ctx.principal.role')())).not.toThrow();
  });
});
