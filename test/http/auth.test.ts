import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});

async function post(headers: Record<string, string>, body: string) {
  const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('authentication', () => {
  const query = JSON.stringify({ query: '{ viewer { clientId } }' });

  it.each([
    ['no Authorization header', {}, 'Missing credentials: send "Authorization: Bearer <api key>".'],
    ['a Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'Malformed Authorization header: expected "Bearer <api key>".'],
    ['an empty bearer', { authorization: 'Bearer ' }, 'Malformed Authorization header: expected "Bearer <api key>".'],
    ['an unknown key', { authorization: 'Bearer not-a-real-key' }, 'Invalid API key.'],
    ['a key with a trailing character', { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}x` }, 'Invalid API key.'],
  ])('answers 401 UNAUTHENTICATED for %s', async (_name, headers, message) => {
    const { status, headers: h, body } = await post(headers, query);
    expect(status).toBe(401);
    expect(h.get('www-authenticate')).toBe('Bearer realm="graphql"');
    expect(body).toEqual({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('checks credentials before reading the body: bad JSON without a key is 401, not 400', async () => {
    const { status, body } = await post({}, '{not json');
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('makes no downstream call for an unauthenticated query', async () => {
    gateway.sampleServices.resetAll();
    await post({}, JSON.stringify({ query: '{ customer(id: "cus_1") { name } }' }));
    expect(gateway.sampleServices.services.accounts.counters()).toEqual({});
  });

  it('accepts the bearer scheme case-insensitively', async () => {
    const { status, body } = await post({ authorization: `bearer ${DEMO_TOKENS.initechAdmin}` }, query);
    expect(status).toBe(200);
    expect(body.data.viewer.clientId).toBe('initech-admin');
  });

  it('takes the tenant only from the key, ignoring tenant headers', async () => {
    const { body } = await post(
      { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}`, 'x-tenant-id': 'globex', 'x-tenant': 'globex' },
      JSON.stringify({ query: '{ viewer { tenant { id } } }' }),
    );
    expect(body.data.viewer.tenant.id).toBe('acme');
  });
});
