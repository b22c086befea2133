import { getNamedType, isObjectType, type GraphQLSchema } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { apiKey, createTestCache, run, testSchema, type TestCache } from './support.js';

/**
 * The @cached/@invalidates transformer on a schema of its own, against a real redis-server: the
 * scopes the demo schema does not use (PUBLIC, ROLE, USER), the key format and the argument
 * encoding, errors, TTL 0, stale-while-revalidate, invalidation and the start-up checks.
 */
const TYPE_DEFS = /* GraphQL */ `
  type Query {
    greeting(lang: String = "en", opts: Opts): String @cached(ttl: 60, scope: PUBLIC)
    tenantName: String @cached(ttl: 60, scope: PUBLIC)
    roleView: String @cached(ttl: 60, scope: ROLE)
    me: String @cached(ttl: 60, scope: USER)
    counter(id: ID!): Counter @cached(ttl: 60)
    flaky: String @cached(ttl: 60)
    partial: [String] @cached(ttl: 60)
    notCached: Int @cached(ttl: 0)
    noScope: Int @cached(ttl: 60, scope: null)
    fresh(id: ID!): Int @cached(ttl: 1, staleWhileRevalidate: 30)
    secret: String @auth(requires: [ADMIN]) @cached(ttl: 60)
  }
  input Opts {
    upper: Boolean
    suffix: String
  }
  type Mutation {
    bump(id: ID!): Boolean @invalidates(tags: ["Counter:{id}"])
  }
  type Counter {
    id: ID!
    child(n: Int = 1): Int @cached(ttl: 60)
  }
`;

let redisServer: TestRedis;
let inspect: Redis;
let cache: TestCache;
let schema: GraphQLSchema;
let calls: Record<string, number>;
/** Per id: what `fresh` answers now. */
let freshValue: Record<string, number>;
let flakyFails: number;

const count = (name: string) => {
  calls[name] = (calls[name] ?? 0) + 1;
};
const tenantOf = (ctx: { principal: Principal }) => ('tenantId' in ctx.principal ? ctx.principal.tenantId : 'none');

const resolvers = {
  Query: {
    greeting: (_: unknown, args: { lang: string; opts?: { upper?: boolean; suffix?: string | null } | null }) => {
      count('greeting');
      const text = `${args.lang === 'fr' ? 'bonjour' : 'hello'}${args.opts?.suffix ?? ''}`;
      return args.opts?.upper ? text.toUpperCase() : text;
    },
    tenantName: (_: unknown, __: unknown, ctx: { principal: Principal }) => {
      count('tenantName');
      return tenantOf(ctx);
    },
    roleView: (_: unknown, __: unknown, ctx: { principal: Principal }) => {
      count('roleView');
      return 'role' in ctx.principal ? `seen as ${ctx.principal.role}` : null;
    },
    me: (_: unknown, __: unknown, ctx: { principal: Principal }) => {
      count('me');
      return ctx.principal.clientId;
    },
    counter: (_: unknown, { id }: { id: string }, ctx: { principal: Principal }) => {
      count('counter');
      return { id, owner: tenantOf(ctx) };
    },
    flaky: async () => {
      count('flaky');
      if (flakyFails-- > 0) throw new Error('downstream failed');
      return 'ok';
    },
    partial: () => {
      count('partial');
      return ['a', new Error('item b failed'), 'c'];
    },
    notCached: () => {
      count('notCached');
      return 1;
    },
    noScope: () => {
      count('noScope');
      return 1;
    },
    fresh: async (_: unknown, { id }: { id: string }) => {
      count('fresh');
      return freshValue[id] ?? 0;
    },
    secret: () => {
      count('secret');
      return 'admin eyes only';
    },
  },
  Mutation: { bump: () => true },
  Counter: {
    child: (parent: { id: string }, { n }: { n: number }) => {
      count('child');
      return Number(parent.id) * 100 + n;
    },
  },
};

const acmeAdmin = apiKey('acme', 'admin');
const globexAdmin = apiKey('globex', 'admin');
const globexViewer = apiKey('globex', 'viewer');

beforeAll(async () => {
  redisServer = await startTestRedis();
  inspect = new Redis(redisServer.url);
});
afterAll(async () => {
  await inspect.quit();
  await redisServer.stop();
});
beforeEach(async () => {
  await inspect.flushall();
  calls = {};
  freshValue = {};
  flakyFails = 0;
  cache = createTestCache(redisServer.url);
  schema = await testSchema(TYPE_DEFS, resolvers, cache.fieldCache);
});
afterEach(async () => {
  await cache.close();
});

const query = (principal: Principal, text: string, variables?: Record<string, unknown>) => run(schema, cache.fieldCache, principal, text, variables);
const keys = async (pattern = 'cache:v*') => (await inspect.keys(pattern)).sort();

describe('@cached keys', () => {
  it('writes cache:v{version}:{tenant}:{audience}:{Type.field}:{sha256} per scope', async () => {
    await query(globexAdmin, '{ counter(id: "1") { id } roleView me greeting }');
    await query(globexViewer, '{ roleView me }');
    const written = await keys();
    const pattern = (ns: string, audience: string, coordinate: string) =>
      new RegExp(`^cache:v[0-9a-f]{12}:\\{${ns}\\}:${audience.replace(/[*@]/g, (c) => `\\${c}`)}:${coordinate.replace('.', '\\.')}:[0-9a-f]{64}$`);
    const expected = [
      pattern('globex', '*', 'Query.counter'),
      pattern('globex', 'admin', 'Query.roleView'),
      pattern('globex', 'viewer', 'Query.roleView'),
      pattern('globex', 'admin@globex-admin', 'Query.me'),
      pattern('globex', 'viewer@globex-viewer', 'Query.me'),
      pattern('_public', '*', 'Query.greeting'),
    ];
    expect(written).toHaveLength(expected.length);
    for (const re of expected) expect(written.filter((k) => re.test(k))).toHaveLength(1);
    // Every key of one schema carries the same version.
    expect(new Set(written.map((k) => k.split(':')[1])).size).toBe(1);
  });

  it('changes the version with the schema and with the config that alters output', async () => {
    await query(globexAdmin, '{ counter(id: "1") { id } }');
    const other = await testSchema(TYPE_DEFS, resolvers, cache.fieldCache, { catalog: 'http://elsewhere.example' });
    const changedSdl = await testSchema(`${TYPE_DEFS}\n type Extra { x: Int }`, resolvers, cache.fieldCache);
    await run(other, cache.fieldCache, globexAdmin, '{ counter(id: "1") { id } }');
    await run(changedSdl, cache.fieldCache, globexAdmin, '{ counter(id: "1") { id } }');
    expect(calls.counter).toBe(3);
    expect(new Set((await keys()).map((k) => k.split(':')[1])).size).toBe(3);
  });

  it('encodes arguments canonically: defaults applied, literals = variables, key order ignored, null distinct from absent', async () => {
    const hit = async (text: string, variables?: Record<string, unknown>) => (await query(acmeAdmin, text, variables)).report!.fields.greeting;
    expect(await hit('{ greeting }')).toBe('MISS');
    expect(await hit('{ greeting(lang: "en") }')).toBe('HIT');
    expect(await hit('query ($l: String) { greeting(lang: $l) }', { l: 'en' })).toBe('HIT');
    expect(await hit('{ greeting(lang: "fr") }')).toBe('MISS');
    expect(await hit('{ greeting(opts: { upper: true, suffix: "!" }) }')).toBe('MISS');
    expect(await hit('query ($o: Opts) { greeting(opts: $o) }', { o: { suffix: '!', upper: true } })).toBe('HIT');
    expect(await hit('{ greeting(opts: { upper: true }) }')).toBe('MISS');
    expect(await hit('{ greeting(opts: { upper: true, suffix: null }) }')).toBe('MISS');
    expect(await hit('query ($o: Opts) { greeting(opts: $o) }', { o: { upper: true, suffix: null } })).toBe('HIT');
    // An explicit null argument differs from an absent one.
    expect(await hit('{ greeting(opts: null) }')).toBe('MISS');
    expect(calls.greeting).toBe(6);
  });

  it('keys a field below the root on its parent object', async () => {
    const first = await query(globexAdmin, '{ a: counter(id: "1") { child } b: counter(id: "2") { child } }');
    expect(first.data).toEqual({ a: { child: 101 }, b: { child: 201 } });
    const second = await query(globexAdmin, '{ b: counter(id: "2") { child } a: counter(id: "1") { child } }');
    expect(second.data).toEqual({ b: { child: 201 }, a: { child: 101 } });
    expect(second.report!.fields).toEqual({ a: 'HIT', b: 'HIT', 'a.child': 'HIT', 'b.child': 'HIT' });
    expect(calls.child).toBe(2);
  });
});

describe('@cached scopes', () => {
  it('PUBLIC: one entry for every tenant', async () => {
    expect((await query(acmeAdmin, '{ greeting }')).data.greeting).toBe('hello');
    const other = await query(globexViewer, '{ greeting }');
    expect(other.data.greeting).toBe('hello');
    expect(other.report!.fields).toEqual({ greeting: 'HIT' });
    expect(calls.greeting).toBe(1);
  });

  it('PUBLIC whose resolver reads the tenant: treated as TENANT, never shared', async () => {
    expect((await query(acmeAdmin, '{ tenantName }')).data.tenantName).toBe('acme');
    expect((await query(globexAdmin, '{ tenantName }')).data.tenantName).toBe('globex');
    // Nothing in the public namespace; from now on entries per tenant.
    expect(await keys('cache:v*{_public}*')).toEqual([]);
    expect((await query(acmeAdmin, '{ tenantName }')).data.tenantName).toBe('acme');
    const warm = await query(acmeAdmin, '{ tenantName }');
    expect(warm.data.tenantName).toBe('acme');
    expect(warm.report!.fields).toEqual({ tenantName: 'HIT' });
    expect((await query(globexAdmin, '{ tenantName }')).data.tenantName).toBe('globex');
  });

  it('PUBLIC whose resolver reads the tenant: concurrent callers of other tenants do not get the leader value', async () => {
    const principals = [acmeAdmin, globexAdmin, apiKey('initech', 'admin'), acmeAdmin, globexViewer];
    const results = await Promise.all(principals.map((p) => query(p, '{ tenantName }')));
    expect(results.map((r) => r.data.tenantName)).toEqual(['acme', 'globex', 'initech', 'acme', 'globex']);
  });

  it('ROLE: each role of a tenant gets its own entry, whichever warms first', async () => {
    for (const [first, second] of [
      [globexAdmin, globexViewer],
      [globexViewer, globexAdmin],
    ] as const) {
      await inspect.flushall();
      expect((await query(first, '{ roleView }')).data.roleView).toBe(`seen as ${(first as { role: string }).role}`);
      expect((await query(second, '{ roleView }')).data.roleView).toBe(`seen as ${(second as { role: string }).role}`);
      expect((await query(first, '{ roleView }')).report!.fields).toEqual({ roleView: 'HIT' });
    }
  });

  it('USER: two keys with the same tenant and role do not share', async () => {
    const one = apiKey('globex', 'admin', 'key-one');
    const two = apiKey('globex', 'admin', 'key-two');
    expect((await query(one, '{ me }')).data.me).toBe('key-one');
    expect((await query(two, '{ me }')).data.me).toBe('key-two');
    expect((await query(one, '{ me }')).report!.fields).toEqual({ me: 'HIT' });
  });

  it('TENANT: a platform admin (no tenant) is never served from or stored into a tenant entry', async () => {
    await query(globexAdmin, '{ counter(id: "1") { id } }');
    const platform: Principal = { kind: 'platformAdmin', clientId: 'ops' };
    const result = await query(platform, '{ counter(id: "1") { id } }');
    expect(result.report).toBeNull();
    expect(calls.counter).toBe(2);
  });

  it('runs @auth before any cache read: a refused caller reads nothing', async () => {
    expect((await query(globexAdmin, '{ secret }')).data.secret).toBe('admin eyes only');
    const refused = await query(globexViewer, '{ secret }');
    expect(refused.data.secret).toBeNull();
    expect(refused.errors![0]!.message).toBe('Query.secret requires one of the roles: admin');
    expect(refused.report).toBeNull();
  });
});

describe('@cached values', () => {
  it('never caches an error', async () => {
    flakyFails = 1;
    const failed = await query(globexAdmin, '{ flaky }');
    expect(failed.errors![0]!.message).toBe('downstream failed');
    expect((await query(globexAdmin, '{ flaky }')).report!.fields).toEqual({ flaky: 'MISS' });
    expect((await query(globexAdmin, '{ flaky }')).report!.fields).toEqual({ flaky: 'HIT' });
    expect(calls.flaky).toBe(2);
  });

  it('never caches a partial result (an error inside a list)', async () => {
    const first = await query(globexAdmin, '{ partial }');
    expect(first.data.partial).toEqual(['a', null, 'c']);
    expect(first.errors![0]!.message).toBe('item b failed');
    const second = await query(globexAdmin, '{ partial }');
    expect(second.data.partial).toEqual(['a', null, 'c']);
    expect(second.errors![0]!.message).toBe('item b failed');
    expect(calls.partial).toBe(2);
    expect(await keys('cache:v*Query.partial*')).toEqual([]);
  });

  it('ttl 0 and scope null mean not cached, and say so in the description', async () => {
    for (let i = 0; i < 3; i++) expect((await query(globexAdmin, '{ notCached noScope }')).report).toBeNull();
    expect(calls).toEqual({ notCached: 3, noScope: 3 });
    const fields = schema.getQueryType()!.getFields();
    expect(fields.notCached!.description).toBe('Not cached (ttl 0).');
    expect(fields.noScope!.description).toBe('Not cached (no scope).');
    expect(fields.greeting!.description).toBe('Cached for 60 s shared by all callers.');
    expect(fields.roleView!.description).toBe('Cached for 60 s per tenant and role.');
    expect(fields.me!.description).toBe('Cached for 60 s per API key.');
    expect(fields.fresh!.description).toBe('Cached for 1 s per tenant, then served stale for up to 30 s more while one request refreshes it.');
    expect(schema.getMutationType()!.getFields().bump!.description).toBe("Drops the caller's tenant's cached entries tagged Counter:{id}.");
  });

  it('stale-while-revalidate: serves the expired value once while refreshing, then the new one', async () => {
    freshValue['1'] = 1;
    expect((await query(globexAdmin, '{ fresh(id: "1") }')).data.fresh).toBe(1);
    freshValue['1'] = 2;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stale = await query(globexAdmin, '{ fresh(id: "1") }');
    expect(stale.data.fresh).toBe(1);
    expect(stale.report!.fields).toEqual({ fresh: 'STALE' });
    await expect.poll(async () => (await query(globexAdmin, '{ fresh(id: "1") }')).data.fresh).toBe(2);
    expect((await query(globexAdmin, '{ fresh(id: "1") }')).report!.fields).toEqual({ fresh: 'HIT' });
    expect(calls.fresh).toBe(2);
  });

  it('coalesces concurrent identical misses in one instance, per tenant', async () => {
    const principals = [...Array.from({ length: 20 }, () => globexAdmin), ...Array.from({ length: 20 }, () => acmeAdmin)];
    const results = await Promise.all(principals.map((p) => query(p, '{ counter(id: "7") { id } }')));
    expect(results.every((r) => r.data.counter.id === '7')).toBe(true);
    expect(calls.counter).toBe(2);
  });
});

describe('@invalidates', () => {
  it("drops the mutated object's entries in the caller's tenant only", async () => {
    const read = (p: Principal) => query(p, '{ one: counter(id: "1") { id child } two: counter(id: "2") { id } }');
    await read(globexAdmin);
    await read(acmeAdmin);
    expect((await read(globexAdmin)).report!.misses).toBe(0);
    const mutation = await query(globexAdmin, 'mutation { bump(id: "1") }');
    expect(mutation.data.bump).toBe(true);
    // Counter:1 (the root entry and the child below it) dropped for globex; Counter:2 and acme kept.
    expect((await read(globexAdmin)).report!.fields).toEqual({ one: 'MISS', 'one.child': 'MISS', two: 'HIT' });
    expect((await read(acmeAdmin)).report!.fields).toEqual({ one: 'HIT', 'one.child': 'HIT', two: 'HIT' });
  });
});

describe('start-up checks', () => {
  const build = (typeDefs: string) => testSchema(typeDefs, {}, cache.fieldCache);
  it.each([
    [
      'type Query { a: A } type A { id: ID! b: Int @cached(ttl: 5, scope: PUBLIC) }',
      "@cached(scope: PUBLIC) on A.b: PUBLIC is for Query fields only; below the root an object's id is only unique inside a tenant",
    ],
    ['type Query { a: Int @cached(ttl: -1) }', '@cached on Query.a: ttl must be a whole number of seconds >= 0: -1'],
    [
      'type Query { a: Int @cached(ttl: 86000, staleWhileRevalidate: 500) }',
      '@cached on Query.a: ttl + staleWhileRevalidate must be at most 86400 s (one day): 86500',
    ],
    ['type Query { a: Int } type Mutation { m: Int @cached(ttl: 5) }', '@cached on Mutation.m: only query data can be cached, not a Mutation field'],
    [
      'type Query { a: S b(x: Int): S } type S { v: Int @cached(ttl: 5) }',
      '@cached on S.v: S has no id field, and is not one object per caller (it is returned by Query.b): its entries could not tell two S objects apart',
    ],
    [
      'type Query { a: Int } type Mutation { m(id: ID): Int @invalidates(tags: ["Nope:{id}"]) }',
      '@invalidates on Mutation.m: tag "Nope:{id}" names no object type "Nope"',
    ],
    [
      'type Query { a: Int } type Mutation { m(id: ID): Int @invalidates(tags: ["Query:{ids}"]) }',
      '@invalidates on Mutation.m: tag "Query:{ids}": Mutation.m has no argument "ids"',
    ],
    [
      'type Query { a: Int } type Mutation { m(id: ID): Int @invalidates(tags: ["Query:{id.x}"]) }',
      '@invalidates on Mutation.m: tag "Query:{id.x}": ID has no input field "x"',
    ],
    [
      'type Query { a: Int } type Mutation { m(id: ID): Int @invalidates(tags: ["Query:id"]) }',
      '@invalidates on Mutation.m: tag "Query:id" must look like Type or Type:{argument.path}',
    ],
  ])('refuses %s', async (typeDefs, message) => {
    await expect(build(typeDefs)).rejects.toThrow(message);
  });

  it('accepts a singleton type without id (one per caller)', async () => {
    const built = await build('type Query { board: Board } type Board { total: Int @cached(ttl: 5) }');
    const board = built.getType('Board');
    expect(isObjectType(board) && getNamedType(board.getFields().total!.type).name).toBe('Int');
  });
});
