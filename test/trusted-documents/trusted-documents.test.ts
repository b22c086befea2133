import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Trusted documents end to end: a tenant admin registers the app's operations (admin mutation and
 * CLI), each priced at registration; a publishable key bound to them runs only those, by id; a
 * publishable key bound to root fields selects only those. Refusals are not charged.
 */
const SHOP = 'https://shop.acme.example';
const TRUSTED_KEY = 'test-acme-trusted-only';
const FIELDS_KEY = 'test-acme-products-only';

const PRODUCTS = 'query Products { products(first: 3) { name price { formatted } } }';
const CUSTOMER = 'query Customer($id: ID!) { customer(id: $id) { name } }';
const idOf = (body: string) => `sha256:${sha256Hex(body)}`;

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.publishableKeys.push(
        { id: 'acme-trusted', tenant: 'acme', sha256: sha256Hex(TRUSTED_KEY), allowedOrigins: [SHOP], trustedDocumentsOnly: true },
        { id: 'acme-products', tenant: 'acme', sha256: sha256Hex(FIELDS_KEY), allowedOrigins: [SHOP], rootFields: ['Query.products', 'Query.viewer'] },
      );
    },
  });
});
afterAll(async () => {
  await gateway.close();
});

const REGISTER =
  'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id name cost typeCost withinPlan pricedWith registeredBy operations { name type rootFields } } }';

/** POSTs a GraphQL-over-HTTP body from the shop's page. */
async function fromShop(token: string, body: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', origin: SHOP },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('registering trusted documents', () => {
  it('validates and prices each document at registration, as the gateway would price the request', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.acmeAdmin, REGISTER, {
      d: [{ body: PRODUCTS }, { body: CUSTOMER, name: 'customer page' }, { body: CUSTOMER.replace('Customer(', 'CustomerPriced('), variables: '{"id":"c1"}' }],
    });
    expect(status).toBe(200);
    const [products, customer, priced] = body.data.registerTrustedDocuments;
    const dryRun = await gateway.gql(DEMO_TOKENS.acmeAdmin, PRODUCTS, undefined, { 'x-cost-dry-run': '1' });
    expect(products).toEqual({
      id: idOf(PRODUCTS),
      name: 'Products',
      cost: dryRun.body.extensions!.cost.requested,
      typeCost: dryRun.body.extensions!.cost.typeCost,
      withinPlan: true,
      pricedWith: '{}',
      registeredBy: 'acme-admin',
      operations: [{ name: 'Products', type: 'query', rootFields: ['Query.products'] }],
    });
    expect(products.cost).toBe(4);
    // A required variable not given: no price, and the answer says how to get one.
    expect(customer).toMatchObject({ name: 'customer page', cost: null, withinPlan: null });
    expect(priced).toMatchObject({ name: 'CustomerPriced', cost: 1, withinPlan: true, pricedWith: '{"id":"c1"}' });
  });

  it('registers nothing when one document is invalid, and names every problem', async () => {
    const before = (await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ trustedDocuments { id } }')).body.data.trustedDocuments.length;
    const { body } = await gateway.gql(DEMO_TOKENS.acmeAdmin, REGISTER, {
      d: [{ body: '{ viewer { clientId } }' }, { body: '{ nope }' }, { body: '{ viewer {' }, { body: '{ viewer { role } }', id: `sha256:${'0'.repeat(64)}` }],
    });
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.extensions!.problems).toEqual([
      'documents[1]: Cannot query field "nope" on type "Query".',
      'documents[2]: Syntax Error: Expected Name, found <EOF>.',
      `documents[3]: id sha256:${'0'.repeat(64)} is not the SHA-256 of its body (${idOf('{ viewer { role } }')})`,
    ]);
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ trustedDocuments { id } }')).body.data.trustedDocuments).toHaveLength(before);
  });

  it('is for tenant admins with a secret key only', async () => {
    const viewer = await gateway.gql(DEMO_TOKENS.globexViewer, REGISTER, { d: [{ body: PRODUCTS }] });
    expect(viewer.body.errors![0]).toMatchObject({
      message: "Trusted documents are managed with a tenant admin's secret API key.",
      extensions: { code: 'FORBIDDEN' },
    });
    const publishable = await fromShop(FIELDS_KEY, { query: '{ trustedDocuments { id } }' });
    // A publishable key cannot even select the field (its rootFields), let alone register.
    expect(publishable.body.errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
  });

  it('the CLI registers an app build manifest and prints each price', async () => {
    const manifest = join(gateway.configPath, '..', 'manifest.json');
    const viewerQuery = 'query Me { viewer { clientId } }';
    await writeFile(
      manifest,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256Hex(viewerQuery), name: 'Me', type: 'query', body: viewerQuery }],
      }),
    );
    const run = promisify(execFile);
    const { stdout } = await run('npx', ['tsx', 'src/trusted-documents/cli.ts', 'register', manifest, '--url', gateway.url, '--key', DEMO_TOKENS.acmeAdmin]);
    expect(stdout).toBe(`registered 1 document(s):\n  ${idOf(viewerQuery)}  Me  cost 1, type cost 2  [Query.viewer]\n`);
    const refused = await run('npx', [
      'tsx',
      'src/trusted-documents/cli.ts',
      'register',
      manifest,
      '--url',
      gateway.url,
      '--key',
      DEMO_TOKENS.globexViewer,
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: "FORBIDDEN: Trusted documents are managed with a tenant admin's secret API key.\n" });
  }, 30_000);
});

describe('a publishable key bound to trusted documents', () => {
  it('runs a registered document by documentId, or by Apollo persistedQuery hash', async () => {
    const byId = await fromShop(TRUSTED_KEY, { documentId: idOf(PRODUCTS) });
    expect(byId.status).toBe(200);
    expect(byId.body.data.products).toHaveLength(3);
    expect(byId.body.extensions.cost.requested).toBe(4);
    const byHash = await fromShop(TRUSTED_KEY, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(PRODUCTS) } } });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data.products).toEqual(byId.body.data.products);
  });

  it('refuses a query text with 403 TRUSTED_DOCUMENT_REQUIRED, and an unknown id with 400 TRUSTED_DOCUMENT_NOT_FOUND, each counted as one request', async () => {
    const before = await fromShop(TRUSTED_KEY, { documentId: idOf(PRODUCTS) });
    const left = before.headers.get('x-ratelimit-remaining');
    const text = await fromShop(TRUSTED_KEY, { query: PRODUCTS });
    expect(text.status).toBe(403);
    expect(text.body.errors[0]).toEqual({
      message: 'Publishable key "acme-trusted" runs only registered trusted documents: send "documentId": "sha256:<hex>" instead of a query.',
      extensions: { code: 'TRUSTED_DOCUMENT_REQUIRED' },
    });
    const unknown = idOf('{ viewer { role } }');
    const missing = await fromShop(TRUSTED_KEY, { documentId: unknown });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toEqual({
      message: `No trusted document ${unknown} is registered for tenant "acme": register it with registerTrustedDocuments (npm run documents).`,
      extensions: { code: 'TRUSTED_DOCUMENT_NOT_FOUND', documentId: unknown },
    });
    // Every request of a key counts, whatever its body (issue 20): the two refusals as one request each.
    expect(missing.headers.get('x-ratelimit-remaining')).toBe(String(Number(left) - 2));
  });

  it('documents are per tenant: another tenant cannot run acme documents', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: idOf(PRODUCTS) }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].message).toContain('for tenant "globex"');
  });

  it('stops running a document once it is removed', async () => {
    const removed = await gateway.gql(DEMO_TOKENS.acmeAdmin, 'mutation($ids: [ID!]!) { removeTrustedDocuments(ids: $ids) }', { ids: [idOf(PRODUCTS)] });
    expect(removed.body.data.removeTrustedDocuments).toBe(1);
    expect((await fromShop(TRUSTED_KEY, { documentId: idOf(PRODUCTS) })).status).toBe(400);
  });
});

describe('a publishable key bound to root fields', () => {
  it('runs operations within its fields and refuses others with 403 OPERATION_NOT_ALLOWED, counted as one request', async () => {
    const ok = await fromShop(FIELDS_KEY, { query: '{ viewer { clientId } products(first: 1) { name } }' });
    expect(ok.status).toBe(200);
    const left = ok.headers.get('x-ratelimit-remaining');
    const refused = await fromShop(FIELDS_KEY, { query: 'query Mixed { products(first: 1) { name } customers(first: 1) { totalCount } }' });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0]).toEqual({
      message: 'Publishable key "acme-products" may not select Query.customers; it may select Query.products, Query.viewer.',
      extensions: { code: 'OPERATION_NOT_ALLOWED', fields: ['Query.customers'] },
    });
    expect(refused.headers.get('x-ratelimit-remaining')).toBe(String(Number(left) - 1));
    // Fragments and aliases do not hide a root field.
    const hidden = await fromShop(FIELDS_KEY, { query: '{ ...F } fragment F on Query { c: customers(first: 1) { totalCount } }' });
    expect(hidden.status).toBe(403);
  });
});
