import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 9, defect 6: automatic persisted queries are per API key. A hash-only request must not
 * tell a caller whether anyone else (another tenant, another key) has sent that exact query text.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function apq(token: string, hash: string, query?: string, method: 'POST' | 'GET' = 'POST') {
  const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
  const init = { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'apollo-require-preflight': 'true' } };
  const response =
    method === 'POST'
      ? await fetch(`${gateway.url}/graphql`, { ...init, method, body: JSON.stringify({ query, extensions }) })
      : await fetch(`${gateway.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(extensions))}`, { ...init, method });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] } };
}

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => (body.errors ?? []).map((e) => e.extensions?.code);

describe('automatic persisted queries', () => {
  it('a hash registered by one key is unknown to another tenant and to another key of the same tenant', async () => {
    const query = `{ viewer { clientId } product(id: "prd_1") { id } } # ${Math.random()}`;
    const hash = sha256(query);
    const registered = await apq(DEMO_TOKENS.globexAdmin, hash, query);
    expect(registered.body.data.viewer.clientId).toBe('globex-admin');

    // The key that registered it gets it by hash, over POST and GET.
    expect((await apq(DEMO_TOKENS.globexAdmin, hash)).body.data.product.id).toBe('prd_1');
    expect((await apq(DEMO_TOKENS.globexAdmin, hash, undefined, 'GET')).body.data.product.id).toBe('prd_1');

    for (const token of [DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.initechAdmin, DEMO_TOKENS.globexViewer, DEMO_TOKENS.platformAdmin]) {
      for (const method of ['POST', 'GET'] as const) {
        const probe = await apq(token, hash, undefined, method);
        expect(probe.body.data).toBeUndefined();
        expect(codes(probe.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      }
    }
  });

  it('each key registers its own and then uses it; a hash that does not match its query is refused', async () => {
    const query = `{ viewer { clientId } } # ${Math.random()}`;
    const hash = sha256(query);
    expect(codes((await apq(DEMO_TOKENS.acmeAdmin, hash)).body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect((await apq(DEMO_TOKENS.acmeAdmin, hash, query)).body.data.viewer.clientId).toBe('acme-admin');
    expect((await apq(DEMO_TOKENS.acmeAdmin, hash)).body.data.viewer.clientId).toBe('acme-admin');
    const forged = await apq(DEMO_TOKENS.initechAdmin, hash, '{ viewer { kind } }');
    expect(forged.status).toBe(400);
    expect(codes((await apq(DEMO_TOKENS.initechAdmin, hash)).body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});
