import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ patch: (config) => (config.server = { bodyLimitBytes: 4096 }) });
});
afterAll(async () => {
  await gateway.close();
});

const auth = { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` };

async function send(init: RequestInit & { path?: string }) {
  const response = await fetch(`${gateway.url}${init.path ?? '/graphql'}`, init);
  return { status: response.status, body: (await response.json()) as any };
}

describe('malformed requests', () => {
  it('answers bad JSON with 400 BAD_REQUEST', async () => {
    const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"query": ' });
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/^Bad request: /);
  });

  it('answers a body without a query with 400 BAD_REQUEST', async () => {
    const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"variables": {}}' });
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/query/);
  });

  it('answers an unsupported content type with 415', async () => {
    const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': 'application/xml' }, body: '<query/>' });
    expect(status).toBe(415);
    expect(body.errors[0]).toEqual({
      message: `Unsupported content type "application/xml": send the operation as JSON with content-type: application/json (curl: -H 'content-type: application/json' -d '{"query":"{ viewer { clientId } }"}').`,
      extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    });
  });

  it('answers an oversized body with 413', async () => {
    const big = JSON.stringify({ query: `{ viewer { clientId } } # ${'x'.repeat(5000)}` });
    const { status, body } = await send({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: big });
    expect(status).toBe(413);
    expect(body.errors[0]).toEqual({ message: 'Request body is larger than 4096 bytes.', extensions: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED and an unknown field with 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const parse = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { ');
    expect(parse.status).toBe(400);
    expect(parse.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    const invalid = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ nope }');
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers a wrongly typed variable with 400 BAD_USER_INPUT', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, 'query($id: ID!) { customer(id: $id) { name } }', { id: { no: 1 } });
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('answers an unknown route with 404 in the same error shape', async () => {
    const { status, body } = await send({ method: 'GET', path: '/nothing-here?x=1' });
    expect(status).toBe(404);
    expect(body).toEqual({ errors: [{ message: 'No route GET /nothing-here', extensions: { code: 'NOT_FOUND' } }] });
  });

  it('serves a query over GET', async () => {
    const { status, body } = await send({
      method: 'GET',
      path: `/graphql?query=${encodeURIComponent('{ viewer { clientId } }')}`,
      headers: { ...auth, 'apollo-require-preflight': 'true' },
    });
    expect(status).toBe(200);
    expect(body.data.viewer.clientId).toBe('globex-admin');
  });
});
