import { graphql, type GraphQLSchema } from 'graphql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import type { FieldCache, RefusalReason } from '../../src/cache/field-cache.js';
import type { Config } from '../../src/config/schema.js';
import type { GatewayContext } from '../../src/graph/context.js';
import type { RequestState } from '../../src/graph/request-state.js';
import { createMemoryOverrides, type OverridesStore } from '../../src/limits/overrides.js';
import { apiKey, createTestCache, type TestCache, testSchema } from './support.js';

/**
 * Issue 18: the field cache sees every read that depends on the caller, the request state and the
 * config included. A schema variant with PUBLIC fields whose resolvers read the caller's plan
 * the ways a resolver can: from the request state (the limit decision's plan), from the config's
 * tenant entry, from the key (the principal's plan), from the runtime overrides. The plan is the
 * tenant's, but it changes under the tenant at a config reload or a runtime override, which no
 * scope keys on: such a value must never be stored, or a tenant moved to another plan is served
 * the old plan's answer for the whole TTL. Reads of the config that say nothing of the caller
 * (the plan catalogue) keep the field PUBLIC.
 */
const TYPE_DEFS = /* GraphQL */ `
  type Query {
    planFromState: String @cached(ttl: 60, scope: PUBLIC)
    planFromConfig: String @cached(ttl: 60, scope: PUBLIC)
    planFromKey: String @cached(ttl: 60, scope: PUBLIC)
    planFromOverride: String @cached(ttl: 60, scope: PUBLIC)
    planCatalogue: [String!]! @cached(ttl: 60, scope: PUBLIC)
  }
`;

// Helpers: the static check reads the resolver's own text only, so these go unseen there, as a
// resolver calling a shared helper does.
const tenantOf = (ctx: GatewayContext) => (ctx.principal as { tenantId: string }).tenantId;
const readers: Record<string, (ctx: GatewayContext) => unknown> = {
  planFromState: (ctx) => ctx.state.decided?.planId ?? 'none',
  planFromConfig: (ctx) => ctx.config.tenants[tenantOf(ctx)]?.plan ?? 'none',
  planFromKey: (ctx) => (ctx.principal as { planId: string }).planId,
  planFromOverride: (ctx) => ctx.overrides.get(tenantOf(ctx))?.planId ?? 'configured',
  planCatalogue: (ctx) => Object.keys(ctx.config.plans).sort(),
};

let calls: Record<string, number>;
const resolvers = {
  Query: Object.fromEntries(
    Object.entries(readers).map(([field, read]) => [
      field,
      (_: unknown, __: unknown, ctx: GatewayContext) => {
        calls[field] = (calls[field] ?? 0) + 1;
        return read(ctx);
      },
    ]),
  ),
};

/** The parts of the config these resolvers read: the plans, and which plan each tenant is on. */
const configWith = (plans: Record<string, string>) =>
  ({
    plans: { free: {}, pro: {}, enterprise: {} },
    tenants: Object.fromEntries(Object.entries(plans).map(([tenant, plan]) => [tenant, { plan }])),
  }) as unknown as Config;

let cache: TestCache;
let fieldCache: FieldCache;
let schema: GraphQLSchema;
let overrides: OverridesStore;
let refused: { field: string; reason: RefusalReason }[];

beforeEach(async () => {
  calls = {};
  refused = [];
  cache = createTestCache(undefined, {}, { onRefused: (field, reason) => refused.push({ field, reason }) });
  fieldCache = cache.fieldCache;
  schema = await testSchema(TYPE_DEFS, resolvers, fieldCache);
  overrides = createMemoryOverrides();
});
afterEach(async () => {
  await cache.close();
});

/** One request, as the request path hands it to execution: the state up to the limit decision. */
async function ask(principal: Principal, field: string, options: { config: Config; decidedPlan?: string }) {
  const ip = '10.0.0.1';
  const state: RequestState = {
    accepted: { principal, ip, startedAt: Date.now() },
    ...(options.decidedPlan ? { decided: { planId: options.decidedPlan, costBudget: null, throttled: null } } : {}),
  };
  const contextValue = { principal, state, ip, config: options.config, overrides, requestId: 'test', loaders: null } as unknown as GatewayContext;
  const result = await graphql({ schema, source: `{ ${field} }`, contextValue });
  expect(result.errors).toBeUndefined();
  return { value: (result.data as Record<string, unknown>)[field], fields: fieldCache.report(state)?.fields ?? {} };
}

const acme = (planId = 'free'): Principal => ({ ...apiKey('acme', 'admin'), planId }) as Principal;
const globex = (planId = 'pro'): Principal => ({ ...apiKey('globex', 'admin'), planId }) as Principal;

describe("a PUBLIC field that reads the caller's plan is never stored", () => {
  it('from the request state: each caller gets the plan its own limit decision found', async () => {
    const config = configWith({ acme: 'free', globex: 'pro' });
    expect((await ask(acme(), 'planFromState', { config, decidedPlan: 'free' })).value).toBe('free');
    expect((await ask(globex(), 'planFromState', { config, decidedPlan: 'pro' })).value).toBe('pro');
    expect((await ask(acme(), 'planFromState', { config, decidedPlan: 'free' })).value).toBe('free');
    // acme moved to pro by a runtime override: its limit decision says so, and so does the answer.
    expect(await ask(acme(), 'planFromState', { config, decidedPlan: 'pro' })).toEqual({ value: 'pro', fields: {} });
    expect(calls.planFromState).toBe(4);
    expect(refused[0]).toEqual({ field: 'Query.planFromState', reason: 'scope' });
  });

  it('from the config: a reload that moves the tenant to another plan is answered at once', async () => {
    const before = configWith({ acme: 'free', globex: 'pro' });
    expect((await ask(acme(), 'planFromConfig', { config: before })).value).toBe('free');
    expect((await ask(globex(), 'planFromConfig', { config: before })).value).toBe('pro');
    expect((await ask(acme(), 'planFromConfig', { config: before })).value).toBe('free');
    const after = configWith({ acme: 'pro', globex: 'pro' });
    expect(await ask(acme(), 'planFromConfig', { config: after })).toEqual({ value: 'pro', fields: {} });
    expect(calls.planFromConfig).toBe(4);
  });

  it("from the key: the principal's plan follows the config, not an entry stored for the tenant", async () => {
    const config = configWith({ acme: 'free' });
    expect((await ask(acme('free'), 'planFromKey', { config })).value).toBe('free');
    expect((await ask(acme('free'), 'planFromKey', { config })).value).toBe('free');
    expect(await ask(acme('enterprise'), 'planFromKey', { config })).toEqual({ value: 'enterprise', fields: {} });
    expect(calls.planFromKey).toBe(3);
  });

  it('from the runtime overrides: a plan set by a platform admin applies to the next request', async () => {
    const config = configWith({ acme: 'free' });
    expect((await ask(acme(), 'planFromOverride', { config })).value).toBe('configured');
    expect((await ask(acme(), 'planFromOverride', { config })).value).toBe('configured');
    await overrides.set({ tenantId: 'acme', planId: 'enterprise', limits: {}, expiresAt: null, setBy: 'ops', setAt: Date.now() });
    expect(await ask(acme(), 'planFromOverride', { config })).toEqual({ value: 'enterprise', fields: {} });
    expect(calls.planFromOverride).toBe(3);
  });

  it('the plan catalogue (config that says nothing of the caller) stays PUBLIC: one entry for every tenant', async () => {
    const config = configWith({ acme: 'free', globex: 'pro' });
    expect((await ask(acme(), 'planCatalogue', { config })).value).toEqual(['enterprise', 'free', 'pro']);
    expect(await ask(globex(), 'planCatalogue', { config })).toEqual({ value: ['enterprise', 'free', 'pro'], fields: { planCatalogue: 'HIT' } });
    expect(calls.planCatalogue).toBe(1);
    expect(refused).toEqual([]);
  });
});
