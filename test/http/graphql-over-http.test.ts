import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * GraphQL over HTTP conformance with graphql-http's own audit (the spec's MUSTs and SHOULDs), run
 * against the real gateway with a tenant key added to every request.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});

const withKey = (input: string | URL | Request, init: RequestInit = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` } });

describe('graphql-http auditServer', () => {
  it('passes every MUST and every SHOULD', async () => {
    const results = await auditServer({ url: `${gateway.url}/graphql`, fetchFn: withKey });
    const failed = results.filter((r) => r.status !== 'ok' && !r.name.startsWith('MAY')).map((r) => `${r.id} ${r.name}`);
    expect(failed).toEqual([]);
    // Every MUST and SHOULD of graphql-http 1.23 was run and passed (a newer version may add some).
    expect(results.filter((r) => r.name.startsWith('MUST') && r.status === 'ok').length).toBeGreaterThanOrEqual(13);
    expect(results.filter((r) => r.name.startsWith('SHOULD') && r.status === 'ok').length).toBeGreaterThanOrEqual(23);
  });
});

describe('request errors by media type', () => {
  const ask = (query: string, accept: string | null, variables?: unknown) =>
    withKey(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
      body: JSON.stringify({ query, variables }),
    });

  it('answers parse, validation and variable errors 200 to application/json clients and 400 to graphql-response+json ones', async () => {
    const cases = [
      ['{ viewer { ', 'GRAPHQL_PARSE_FAILED', undefined],
      ['{ nope }', 'GRAPHQL_VALIDATION_FAILED', undefined],
      ['query($id: ID!) { customer(id: $id) { name } }', 'BAD_USER_INPUT', { id: { no: 1 } }],
    ] as const;
    for (const [query, code, variables] of cases) {
      for (const [accept, status, type] of [
        [null, 200, 'application/json'],
        ['application/json', 200, 'application/json'],
        ['*/*', 200, 'application/json'],
        ['application/graphql-response+json', 400, 'application/graphql-response+json'],
        ['application/graphql-response+json, application/json;q=0.9', 400, 'application/graphql-response+json'],
      ] as const) {
        const response = await ask(query, accept, variables);
        expect({ query, accept, status: response.status, type: response.headers.get('content-type') }).toEqual({
          query,
          accept,
          status,
          type: `${type}; charset=utf-8`,
        });
        const body = (await response.json()) as any;
        expect(body.data).toBeUndefined();
        expect(body.errors[0].extensions.code).toBe(code);
      }
    }
  });

  it('keeps the status of refusals that are not request errors: 400 COST_LIMIT_EXCEEDED, 401', async () => {
    const expensive = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
      body: JSON.stringify({ query: '{ orders(first: 50) { nodes { items { product { inventory { available } } } } } }' }),
    });
    expect(expensive.status).toBe(400);
    expect(((await expensive.json()) as any).errors[0].extensions.code).toBe('COST_LIMIT_EXCEEDED');
    const anonymous = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{"query":"{ viewer { clientId } }"}',
    });
    expect(anonymous.status).toBe(401);
  });
});
