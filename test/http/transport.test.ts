import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * What a developer trying /graphql from curl is told: the README's promise (415 for a body that
 * is not JSON, a GET only with the preflight header) with a message saying what to send, and the
 * protection against cross-site requests kept.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});

const auth = { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` };
const QUERY = '{ viewer { clientId } }';
const POST_HINT = `send the operation as JSON with content-type: application/json (curl: -H 'content-type: application/json' -d '{"query":"{ viewer { clientId } }"}').`;

async function send(init: RequestInit & { path?: string }) {
  const response = await fetch(`${gateway.url}${init.path ?? '/graphql'}`, init);
  return { status: response.status, body: (await response.json()) as any };
}

describe('POST /graphql with a body that is not JSON', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['text/plain;charset=UTF-8', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x', 'multipart/form-data'],
  ])('answers %s with 415 UNSUPPORTED_MEDIA_TYPE and what to send, not a CSRF message', async (contentType, named) => {
    const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': contentType }, body: JSON.stringify({ query: QUERY }) });
    expect(status).toBe(415);
    expect(body.errors).toEqual([{ message: `Unsupported content type "${named}": ${POST_HINT}`, extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }]);
  });

  it('still serves JSON, with or without a charset', async () => {
    for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
      const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': contentType }, body: JSON.stringify({ query: QUERY }) });
      expect(status).toBe(200);
      expect(body.data.viewer.clientId).toBe('globex-admin');
    }
  });
});

describe('GET /graphql?query=...', () => {
  const path = `/graphql?query=${encodeURIComponent(QUERY)}`;

  it('refuses a plain GET, as a cross-site page could send it, with 400 PREFLIGHT_REQUIRED saying which header to add', async () => {
    const { status, body } = await send({ path, headers: auth });
    expect(status).toBe(400);
    expect(body.errors[0].extensions).toEqual({ code: 'PREFLIGHT_REQUIRED' });
    expect(body.errors[0].message).toMatch(/^A GET to \/graphql needs the header apollo-require-preflight: true: /);
    expect(body.errors[0].message).toContain("curl -G <url>/graphql -H 'apollo-require-preflight: true' --data-urlencode 'query={ viewer { clientId } }'");
    expect(body.errors[0].message).not.toMatch(/CSRF/);
    // An empty header proves nothing; a simple content type neither.
    expect((await send({ path, headers: { ...auth, 'apollo-require-preflight': ' ' } })).status).toBe(400);
    expect((await send({ path, headers: { ...auth, 'content-type': 'text/plain' } })).status).toBe(400);
  });

  it('serves a GET with the preflight header (or an operation-name header)', async () => {
    for (const header of ['apollo-require-preflight', 'x-apollo-operation-name']) {
      const { status, body } = await send({ path, headers: { ...auth, [header]: 'true' } });
      expect(status).toBe(200);
      expect(body.data.viewer.clientId).toBe('globex-admin');
    }
  });

  it('asks for credentials first: a GET without a key is 401, whatever its headers', async () => {
    const { status, body } = await send({ path });
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
