import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { useTestRedis } from '../support/redis-server.js';

/**
 * Probes an attacker holding one of a tenant's keys would send (issue 20), each answered with a
 * precise error at little cost, while the instance keeps answering everyone else.
 */
const SHOP = 'http://localhost:5173';
const PRODUCTS_KEY = 'test-acme-products-only';
const TRUSTED_KEY = 'test-acme-trusted-only';
const redis = useTestRedis();

let gateway: TestGateway;
let second: TestGateway;
const patch = (config: Record<string, any>) => {
  config.publishableKeys.push(
    { id: 'acme-products', tenant: 'acme', sha256: sha256Hex(PRODUCTS_KEY), allowedOrigins: [SHOP], rootFields: ['Query.products', 'Query.viewer'] },
    { id: 'acme-trusted', tenant: 'acme', sha256: sha256Hex(TRUSTED_KEY), allowedOrigins: [SHOP], trustedDocumentsOnly: true },
  );
  // globex: a small minute limit, quickly reached.
  config.tenants.globex.overrides = { ...config.tenants.globex.overrides, requestsPerMinute: 5 };
  // Refusals remembered at the door for up to 10 s (default 2 s), so that the test below sees
  // every retry answered from memory; who decided is in x-ratelimit-decision.
  config.limits = { ...config.limits, localRefusalMaxMs: 10_000, decisionHeader: true };
};
beforeAll(async () => {
  [gateway, second] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redis.server.url }, patch }),
    startTestGateway({ env: { REDIS_URL: redis.server.url }, patch }),
  ]);
});
afterAll(async () => {
  await Promise.all([gateway?.close(), second?.close()]);
});

/** POSTs a GraphQL-over-HTTP body as the acme storefront page would. */
async function fromShop(token: string, body: Record<string, unknown>, url = gateway.url) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', origin: SHOP },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as any, bytes: text.length };
}

/** How long /healthz takes to answer while `work` runs. */
async function healthzDuring(work: Promise<unknown>): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  const health = await fetch(`${gateway.url}/healthz`);
  const ms = performance.now() - started;
  expect(health.status).toBe(200);
  await work;
  return ms;
}

const history = (i: number) =>
  `h${i}: usage { history(granularity: HOUR, from: "${new Date(Date.now() - 40 * 86_400_000).toISOString()}") { start totals { requests } } }`;

describe('free usage operations are bounded', () => {
  it('refuses 400 aliased usage histories from the publishable key before running any of them, and /healthz answers meanwhile', async () => {
    const query = `{ ${Array.from({ length: 400 }, (_, i) => history(i)).join(' ')} }`;
    const request = fromShop(DEMO_TOKENS.acmePublishable, { query });
    const healthMs = await healthzDuring(request);
    const refused = await request;
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'DOCUMENT_TOO_COMPLEX', bound: 'maxTokens', limit: 5000, found: 5001 });
    expect(refused.body.errors[0].message).toBe(
      'The document has more than 5000 tokens; the limit is 5000 (server.documentLimits.maxTokens). Split the operation or simplify it.',
    );
    expect(refused.bytes).toBeLessThan(1000);
    // Before: 10.5 s of work, 30 MB returned, /healthz waited 9.3 s.
    expect(healthMs).toBeLessThan(1000);
    // Short aliases within the token bound meet the alias bound.
    const aliases = await fromShop(DEMO_TOKENS.acmePublishable, {
      query: `{ ${Array.from({ length: 31 }, (_, i) => `u${i}: usage { limits { requestsPerMinute } }`).join(' ')} }`,
    });
    expect(aliases.status).toBe(400);
    expect(aliases.body.errors[0].extensions).toEqual({ code: 'DOCUMENT_TOO_COMPLEX', bound: 'maxAliases', limit: 30, found: 31 });
  });

  it('prices usage operations and holds them to limits.usageMaxOperationCost, whatever the plan', async () => {
    const six = `{ ${Array.from({ length: 6 }, (_, i) => history(i)).join(' ')} }`;
    const refused = await fromShop(DEMO_TOKENS.acmePublishable, { query: six });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', maximum: 1000, policy: 'usage-operation' });
    expect(refused.body.errors[0].extensions.estimate).toBeGreaterThan(1000);
    expect(refused.body.errors[0].message).toContain('usage operations (free, whatever the plan) may cost at most 1000 (limits.usageMaxOperationCost)');
    // Within the maximum it is served, and still free.
    const two = await fromShop(DEMO_TOKENS.acmePublishable, { query: `{ ${history(0)} ${history(1)} }` });
    expect(two.status).toBe(200);
    expect(two.body.data.h0.history.length).toBe(two.body.data.h1.history.length);
    expect(two.body.data.h0.history.length).toBeGreaterThan(900);
  });
});

describe('document bounds', () => {
  it('refuses a 0.9 MB document that would fail validation without holding the event loop, and each bound names itself', async () => {
    const huge = `{ ${Array.from({ length: 30_000 }, (_, i) => `x: usage { history { x${i % 2 ? '' : ': start'} } }`).join(' ')} }`;
    expect(huge.length).toBeGreaterThan(900_000);
    const request = fromShop(DEMO_TOKENS.acmePublishable, { query: huge });
    const healthMs = await healthzDuring(request);
    const refused = await request;
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'DOCUMENT_TOO_COMPLEX', bound: 'maxTokens', limit: 5000 });
    expect(healthMs).toBeLessThan(1000);

    const cases: [string, string][] = [
      [`{ ${Array.from({ length: 6 }, () => 'viewer { clientId }').join(' ')} }`, 'maxSameResponseKey'],
      [`{ ${'viewer { tenant { plan { limits { '.repeat(6)}requestsPerMinute${' } } } }'.repeat(6)} }`, 'maxDepth'],
      [`{ viewer { clientId ${'@include(if: true) '.repeat(51)}} }`, 'maxDirectives'],
      // The same repeated key through fragments counts too.
      [
        `{ ...A ...B ...C } fragment A on Query { viewer { clientId } } fragment B on Query { ...A viewer { role } } fragment C on Query { ...B ...A viewer { clientId } }`,
        'maxSameResponseKey',
      ],
    ];
    for (const [query, bound] of cases) {
      const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, query);
      expect(response.status, bound).toBe(400);
      expect(response.body.errors![0]!.extensions).toMatchObject({ code: 'DOCUMENT_TOO_COMPLEX', bound });
    }
    // A trusted document runs without the door's check: it is held to the same bounds when registered.
    const registered = await gateway.gql(DEMO_TOKENS.acmeAdmin, 'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id } }', {
      d: [{ body: cases[0]![0] }],
    });
    expect(registered.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(registered.body.errors![0]!.message).toContain(
      'documents[0]: 6 fields answer to the response key "viewer" in one selection set; the limit is 5 (server.documentLimits.maxSameResponseKey)',
    );
    // Introspection, as GraphiQL sends it, is well within every bound.
    const { getIntrospectionQuery } = await import('graphql');
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, getIntrospectionQuery())).status).toBe(200);
  });
});

describe('publishable-key restrictions hold on the operation actually executed', () => {
  it('refuses the second operation of an APQ-registered document (and a mutation) with 403, though its first ran', async () => {
    const first = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ customers(first: 1) { nodes { id name } } }');
    const { id, name } = first.body.data.customers.nodes[0];
    const text = `query A { products(first: 1) { name } } query B { customers(first: 1) { nodes { name email } } } mutation C { updateCustomer(id: "${id}", input: { name: "pwned" }) { name } }`;
    const hash = createHash('sha256').update(text).digest('hex');
    const persistedQuery = { version: 1, sha256Hash: hash };
    const registered = await fromShop(PRODUCTS_KEY, { query: text, operationName: 'A', extensions: { persistedQuery } });
    expect(registered.status).toBe(200);
    expect(registered.body.data.products).toHaveLength(1);
    const viaHash = await fromShop(PRODUCTS_KEY, { operationName: 'B', extensions: { persistedQuery } });
    expect(viaHash.status).toBe(403);
    expect(viaHash.body).toMatchObject({
      errors: [
        {
          message: 'Publishable key "acme-products" may not select Query.customers; it may select Query.products, Query.viewer.',
          extensions: { code: 'OPERATION_NOT_ALLOWED', fields: ['Query.customers'] },
        },
      ],
    });
    const mutation = await fromShop(PRODUCTS_KEY, { operationName: 'C', extensions: { persistedQuery } });
    expect(mutation.status).toBe(403);
    expect(mutation.body.errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
    const customer = await gateway.gql(DEMO_TOKENS.acmeAdmin, `{ customer(id: "${id}") { name } }`);
    expect(customer.body.data.customer.name).toBe(name);
  });

  it('refuses introspection to a key bound to root fields, but not __typename', async () => {
    const schema = await fromShop(PRODUCTS_KEY, { query: '{ __schema { queryType { name } } }' });
    expect(schema.status).toBe(403);
    expect(schema.body.errors[0].extensions).toEqual({ code: 'OPERATION_NOT_ALLOWED', fields: ['Query.__schema'] });
    const typename = await fromShop(PRODUCTS_KEY, { query: '{ __typename viewer { clientId } }' });
    expect(typename.status).toBe(200);
  });

  it("keeps the tenant key ids from a publishable key: byClient and another key's history are FORBIDDEN", async () => {
    const byClient = await fromShop(DEMO_TOKENS.acmePublishable, { query: '{ usage { byClient { key } } }' });
    expect(byClient.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(byClient.body.errors[0].message).toBe(
      'Publishable key "acme-storefront" cannot see usage per API key (it would show the tenant\'s key ids); use a secret key.',
    );
    const other = await fromShop(DEMO_TOKENS.acmePublishable, { query: '{ usage { history(client: "acme-admin") { start } } }' });
    expect(other.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const own = await fromShop(DEMO_TOKENS.acmePublishable, { query: '{ usage { history(client: "acme-storefront") { start } } }' });
    expect(own.body.errors).toBeUndefined();
    // A secret key still sees them.
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ usage { byClient { key } } }')).body.errors).toBeUndefined();
  });

  it('refuses /usage.csv to keys restricted to root fields or to trusted documents, as GraphQL refuses them usage', async () => {
    const csv = (token: string) => fetch(`${gateway.url}/usage.csv`, { headers: { authorization: `Bearer ${token}`, origin: SHOP } });
    const fields = await csv(PRODUCTS_KEY);
    expect(fields.status).toBe(403);
    expect(await fields.json()).toEqual({
      errors: [
        {
          message: 'Publishable key "acme-products" may not select Query.usage; it may select Query.products, Query.viewer.',
          extensions: { code: 'OPERATION_NOT_ALLOWED', fields: ['Query.usage'] },
        },
      ],
    });
    const trusted = await csv(TRUSTED_KEY);
    expect(trusted.status).toBe(403);
    expect(((await trusted.json()) as any).errors[0].extensions.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    expect((await csv(DEMO_TOKENS.acmePublishable)).status).toBe(200);
  });
});

describe('every request of a key counts, whatever its body', () => {
  it('answers a refused key 429 for documents that fail to parse or validate, on every instance', async () => {
    const token = DEMO_TOKENS.globexViewer;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await gateway.gql(token, '{ viewer { clientId } }')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const bodies = ['{ viewer { ', '{ noSuchField }', 'query { viewer { clientId } } query { viewer { role } }'];
    for (const instance of [gateway, second]) {
      for (const query of bodies) {
        const response = await instance.gql(token, query);
        expect(response.status, query).toBe(429);
        expect(response.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', policy: 'minute', limit: 5 });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    // A body that is not even JSON, and a usage query still answers (free, under its own cap).
    const malformed = await fetch(`${second.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(429);
    expect((await second.gql(token, '{ usage { limits { plan { id } } } }')).status).toBe(200);
  });

  it('counts parse failures of a key that is not refused yet, until they make it so', async () => {
    const token = DEMO_TOKENS.initechAdmin;
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await second.gql(token, '{ viewer { ');
      expect(response.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
      remaining.push(Number(response.headers.get('x-ratelimit-remaining')));
    }
    expect(remaining.map((r) => remaining[0]! - r)).toEqual([0, 1, 2, 3]);
  });

  it('answers a refused caller from memory at the door, counted in limit_local_refusals_total', async () => {
    const token = DEMO_TOKENS.globexAdmin;
    const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
    // Answered at the front door (http/front-door.ts): a key's refusal, no Origin.
    const metric = async () => Number(/^limit_local_refusals_total\{door="front"\} (\d+)/m.exec(await metrics())?.[1] ?? 0);
    const before = await metric();
    const responses = [];
    const took: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      responses.push(await gateway.gql(token, '{ viewer { clientId } }'));
      took.push(performance.now() - started);
    }
    // globex's minute was used up by the tests above (its three keys share it).
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(429));
    // The first may have asked Redis; the others were answered from memory, each held back
    // half to all of limits.localRefusalDelayMs (250 ms): a client ignoring Retry-After is slowed down.
    expect(await metric()).toBeGreaterThanOrEqual(before + 5);
    expect(responses.slice(1).map((r) => r.headers.get('x-ratelimit-decision')?.split(';')[0])).toEqual(Array(5).fill('remembered'));
    expect(took.slice(1).filter((ms) => ms < 120)).toEqual([]);
    const last = responses.at(-1)!;
    expect(last.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', policy: 'minute', limit: 5 });
    expect(last.headers.get('ratelimit-policy')).toContain('"minute";q=5;w=60');
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});

describe('a tenant cannot exhaust shared memory, and a captured webhook cannot be replayed', () => {
  it('refuses trusted documents past the default per-tenant byte cap (5 MiB), registering none of the batch', async () => {
    const REGISTER = 'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id } }';
    // 60 KB documents (under the 64 KiB one-document cap), in batches, as a flooding tenant admin would send them.
    const doc = (i: number) => ({ body: `query D${i} { viewer { clientId } } # ${'x'.repeat(60_000)}` });
    let refused: any;
    for (let batch = 0; batch < 12 && !refused; batch++) {
      const response = await gateway.gql(DEMO_TOKENS.initechAdmin, REGISTER, { d: Array.from({ length: 10 }, (_, i) => doc(batch * 10 + i)) });
      if (response.body.errors) refused = response.body.errors[0];
    }
    expect(refused?.extensions).toMatchObject({ code: 'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED', maxBytes: 5 * 1024 * 1024 });
    expect(refused.extensions.bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    const listed = await gateway.gql(DEMO_TOKENS.initechAdmin, '{ trustedDocuments { id } }');
    expect(listed.body.data.trustedDocuments.length).toBeLessThan(90);
  });

  it('rejects an alert delivery replayed after the tolerance, or dated 2020', async () => {
    const { signatureHeader, checkSignature } = await import('../../src/alerts/verify.js');
    const body = JSON.stringify({ kind: 'limit_threshold', tenantId: 'acme' });
    const sentAt = Math.floor(Date.now() / 1000);
    const header = signatureHeader(body, 'secret', sentAt);
    expect(checkSignature(body, header, 'secret')).toBe('valid');
    expect(checkSignature(body, header, 'secret', { now: (sentAt + 301) * 1000 })).toBe('expired');
    expect(checkSignature(body, signatureHeader(body, 'secret', Date.parse('2020-01-01') / 1000), 'secret')).toBe('expired');
  });
});
