import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { storedBytes } from '../../src/trusted-documents/store.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The caps through the admin mutations on a started gateway: acme (plan free) under the
 * top-level `trustedDocuments.maxDocuments`, globex (plan pro) under its plan's own.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.trustedDocuments = { maxDocuments: 2 };
      config.plans.pro.trustedDocuments = { maxDocuments: 3 };
    },
  });
});
afterAll(async () => {
  await gateway?.close();
});

const REGISTER =
  'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id name body cost typeCost pricedWith registeredAt registeredBy operations { name type rootFields } } }';
const REMOVE = 'mutation($ids: [ID!]!) { removeTrustedDocuments(ids: $ids) }';
const body = (n: number) => `query Page${n} { viewer { clientId } }`;

interface Registered {
  id: string;
  name: string | null;
  body: string;
  cost: number | null;
  typeCost: number | null;
  pricedWith: string;
  registeredAt: string;
  registeredBy: string;
  operations: { name: string | null; type: 'query' | 'mutation' | 'subscription'; rootFields: string[] }[];
}

/** The bytes the store keeps for a document, from what the mutation answered. */
const bytesOf = (d: Registered) =>
  storedBytes({
    sha256: d.id.slice('sha256:'.length),
    name: d.name,
    body: d.body,
    operations: d.operations,
    cost: d.cost === null || d.typeCost === null ? null : { fieldCost: d.cost, typeCost: d.typeCost },
    pricedWith: JSON.parse(d.pricedWith) as Record<string, unknown>,
    registeredAt: Date.parse(d.registeredAt),
    registeredBy: d.registeredBy,
  });

describe('trusted-document caps through the gateway', () => {
  it('refuses a registration past the tenant cap with TRUSTED_DOCUMENTS_QUOTA_EXCEEDED, registering none of it; removing one makes room', async () => {
    const first = await gateway.gql(DEMO_TOKENS.acmeAdmin, REGISTER, { d: [{ body: body(1) }, { body: body(2) }] });
    const held = (first.body.data.registerTrustedDocuments as Registered[]).reduce((sum, d) => sum + bytesOf(d), 0);

    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, REGISTER, { d: [{ body: body(2) }, { body: body(3) }] });
    // A resolver's refusal, as other refused mutation input: 200 with the error (GraphQL over HTTP).
    expect(refused.status).toBe(200);
    expect(refused.body.data).toBeNull();
    const bytesAfter = refused.body.errors![0]!.extensions!.bytesAfter as number;
    expect(refused.body.errors).toEqual([
      {
        message:
          `No document was registered: tenant "acme" holds 2 trusted documents taking ${held} bytes, and this registration would make it 3 documents, above its cap of 2. ` +
          'Remove documents the app no longer sends (removeTrustedDocuments), or ask the gateway operator to raise trustedDocuments.maxDocuments.',
        path: ['registerTrustedDocuments'],
        locations: [{ line: 1, column: 42 }],
        extensions: { code: 'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED', count: 2, bytes: held, maxDocuments: 2, maxBytes: 5 * 1024 * 1024, countAfter: 3, bytesAfter },
      },
    ]);
    expect(bytesAfter).toBeGreaterThan(held);
    const names = async () =>
      (await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ trustedDocuments { name } }')).body.data.trustedDocuments.map((d: { name: string }) => d.name).sort();
    expect(await names()).toEqual(['Page1', 'Page2']);

    const [page1] = first.body.data.registerTrustedDocuments as Registered[];
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, REMOVE, { ids: [page1!.id] })).body.data.removeTrustedDocuments).toBe(1);
    const again = await gateway.gql(DEMO_TOKENS.acmeAdmin, REGISTER, { d: [{ body: body(2) }, { body: body(3) }] });
    expect(again.body.errors).toBeUndefined();
    expect(await names()).toEqual(['Page2', 'Page3']);
  });

  it("a plan's own cap applies to its tenants, and the error names the plan's key", async () => {
    const three = await gateway.gql(DEMO_TOKENS.globexAdmin, REGISTER, { d: [1, 2, 3].map((n) => ({ body: body(n) })) });
    expect(three.body.errors).toBeUndefined();
    const fourth = await gateway.gql(DEMO_TOKENS.globexAdmin, REGISTER, { d: [{ body: body(4) }] });
    expect(fourth.body.errors![0]!.extensions).toMatchObject({ code: 'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED', count: 3, maxDocuments: 3, countAfter: 4 });
    expect(fourth.body.errors![0]!.message).toMatch(/would make it 4 documents, above its cap of 3\. .* raise plans\.pro\.trustedDocuments\.maxDocuments\.$/);
  });
});
