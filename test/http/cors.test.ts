import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * CORS and origin binding over plain HTTP, as a browser would send them (the browser suite,
 * test/http/cors-browser.test.ts, shows what page script sees). The storefront origin is one the
 * demo publishable key names; the tool origin is one tenant globex allows its secret keys from.
 */
const STOREFRONT = 'http://localhost:5173';
const TOOL = 'https://tools.globex.example';
const STRANGER = 'https://evil.example';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.tenants.globex.cors = { allowedOrigins: [TOOL] };
      config.publishableKeys[0].perIpPerMinute = 3;
    },
  });
});
afterAll(async () => {
  await gateway.close();
});

const QUERY = JSON.stringify({ query: '{ viewer { clientId role } }' });

function post(token: string, origin?: string, body = QUERY) {
  return fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body,
  });
}

const json = async (response: Response) => (await response.json()) as any;

function preflight(origin: string) {
  return fetch(`${gateway.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

describe('CORS preflight', () => {
  it('answers an origin some key names with 204, the methods and headers clients need, cached 600 s', async () => {
    const response = await preflight(STOREFRONT);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(STOREFRONT);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('cache-control')).toBe('max-age=600');
    expect(response.headers.get('vary')).toContain('Origin');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('refuses an origin no tenant names with 403 ORIGIN_NOT_ALLOWED and no CORS headers', async () => {
    const response = await preflight(STRANGER);
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await json(response)).toEqual({
      errors: [
        {
          message:
            'Origin https://evil.example may not call this gateway: no tenant lists it (tenants.<id>.cors.allowedOrigins for secret keys, publishableKeys[].allowedOrigins for publishable keys).',
          extensions: { code: 'ORIGIN_NOT_ALLOWED', origin: STRANGER },
        },
      ],
    });
  });
});

describe('actual requests', () => {
  it('serves the publishable key from its origin, exposing the rate-limit headers and x-request-id', async () => {
    const response = await post(DEMO_TOKENS.acmePublishable, STOREFRONT);
    expect(response.status).toBe(200);
    expect((await json(response)).data.viewer).toEqual({ clientId: 'acme-storefront', role: 'VIEWER' });
    expect(response.headers.get('access-control-allow-origin')).toBe(STOREFRONT);
    const exposed = response.headers.get('access-control-expose-headers')!.split(', ');
    expect(exposed).toEqual(
      expect.arrayContaining([
        'ratelimit',
        'ratelimit-policy',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'retry-after',
        'x-request-id',
      ]),
    );
    expect(response.headers.get('ratelimit-policy')).toContain('"key-ip-minute";q=3;w=60');
  });

  it('refuses the publishable key from another origin, and without an Origin', async () => {
    const other = await post(DEMO_TOKENS.acmePublishable, TOOL);
    expect(other.status).toBe(403);
    // TOOL is answered by CORS (globex names it), so the page can read why.
    expect(other.headers.get('access-control-allow-origin')).toBe(TOOL);
    expect((await json(other)).errors[0]).toEqual({
      message: `Publishable key "acme-storefront" is not allowed from origin ${TOOL}; it is accepted only from http://localhost:5173, http://127.0.0.1:5173 (publishableKeys[].allowedOrigins).`,
      extensions: { code: 'ORIGIN_NOT_ALLOWED', origin: TOOL },
    });
    const none = await post(DEMO_TOKENS.acmePublishable);
    expect(none.status).toBe(403);
    expect((await json(none)).errors[0].message).toBe(
      'Publishable key "acme-storefront" is for web pages and the request has no Origin header; it is accepted only from http://localhost:5173, http://127.0.0.1:5173. Servers and scripts use a secret API key.',
    );
  });

  it('refuses a secret key from a browser origin its tenant has not allowed, with the setting to change', async () => {
    const response = await post(DEMO_TOKENS.acmeAdmin, STOREFRONT);
    expect(response.status).toBe(403);
    const error = (await json(response)).errors[0];
    expect(error.extensions).toEqual({ code: 'ORIGIN_NOT_ALLOWED', origin: STOREFRONT });
    expect(error.message).toBe(
      'Secret API key "acme-admin" was sent from the browser origin http://localhost:5173, which tenant "acme" does not allow. A secret key must not be in a web page: use a publishable key there (publishableKeys[].allowedOrigins), or, for an internal tool, add the origin to tenants.acme.cors.allowedOrigins.',
    );
    // Nothing was charged, so no rate-limit headers either.
    expect(response.headers.get('ratelimit-policy')).toBeNull();
  });

  it('serves a secret key from an origin its tenant allows, from the gateway own pages, and without an Origin', async () => {
    const tool = await post(DEMO_TOKENS.globexAdmin, TOOL);
    expect(tool.status).toBe(200);
    expect(tool.headers.get('access-control-allow-origin')).toBe(TOOL);
    const same = await post(DEMO_TOKENS.globexAdmin, gateway.url);
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const server = await post(DEMO_TOKENS.globexAdmin);
    expect(server.status).toBe(200);
    // Every one of them varies by Origin (a shared cache must keep them apart); only the allowed origin is echoed.
    for (const response of [tool, same, server]) expect(response.headers.get('vary')).toContain('Origin');
    expect(server.headers.get('access-control-allow-origin')).toBeNull();
    expect(server.headers.get('access-control-expose-headers')).toBeNull();
    // The same tool origin does not open another tenant's keys.
    expect((await post(DEMO_TOKENS.acmeAdmin, TOOL)).status).toBe(403);
  });

  it('answers CORS on the usage export as on /graphql, and on no other route', async () => {
    const csv = (origin: string) =>
      fetch(`${gateway.url}/usage.csv?granularity=hour`, { headers: { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}`, origin } });
    const allowed = await csv(TOOL);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(TOOL);
    expect(allowed.headers.get('vary')).toContain('Origin');
    const stranger = await csv(STRANGER);
    expect(stranger.status).toBe(403);
    expect((await json(stranger)).errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
    // A probe is no API route: an allowed origin's script gets no CORS headers to read it with, and no 403 either.
    const probe = await fetch(`${gateway.url}/healthz`, { headers: { origin: TOOL } });
    expect(probe.status).toBe(200);
    expect(probe.headers.get('access-control-allow-origin')).toBeNull();
    expect(probe.headers.get('vary')).toBeNull();
  });

  it('refuses a request from an origin nobody names before reading the key', async () => {
    const response = await post('not-even-a-key', STRANGER);
    expect(response.status).toBe(403);
    expect((await json(response)).errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('keeps the publishable key to its role: a viewer gets FORBIDDEN on admin-only fields', async () => {
    const response = await post(DEMO_TOKENS.acmePublishable, STOREFRONT, JSON.stringify({ query: '{ customers(first: 1) { nodes { name email } } }' }));
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.data.customers.nodes[0].name).toEqual(expect.any(String));
    expect(body.data.customers.nodes[0].email).toBeNull();
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('limits the publishable key per address inside the plan (perIpPerMinute: 3)', async () => {
    // Earlier tests in this file spent some of the three; refused (403) requests spent none.
    const answers: Response[] = [];
    for (let i = 0; i < 4 && answers.at(-1)?.status !== 429; i++) answers.push(await post(DEMO_TOKENS.acmePublishable, 'http://127.0.0.1:5173'));
    const last = answers.at(-1)!;
    expect(last.status).toBe(429);
    expect(answers.at(-2)!.headers.get('ratelimit')).toContain('"key-ip-minute";r=0;');
    const body = await json(last);
    expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', dimension: 'requests', policy: 'key-ip-minute', limit: 3 });
    expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
    // The 429 from an allowed origin is readable by the page: CORS headers are on it too.
    expect(last.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    // The tenant's other keys are not limited by it.
    expect((await post(DEMO_TOKENS.acmeAdmin)).status).toBe(200);
  });
});
