import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { memoryLogger } from '../config/helpers.js';
import { parsePrometheusText } from '../observability/prometheus-text.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/redis-server.js';

/**
 * Where /metrics is served (src/http/metrics-endpoint.ts), over real HTTP on a real gateway: on
 * a port of its own when `server.metricsPort` (METRICS_PORT) is set, and then not on the public
 * port; on the public port otherwise, as before, with one warning; behind a bearer token when
 * one is configured, wherever it is served.
 */

const PUBLIC_WARNING = '/metrics is served on the public port without authentication';
const TOKEN = 'scraper-token-5f0c1d2e3a4b5c6d7e8f';
const OTHER_TOKEN = 'another-scraper-token-9a8b7c6d5e4f';

/** What the public server answers for any path it does not serve. */
function notFound(path: string) {
  return { status: 404, body: { errors: [{ message: `No route GET ${path}`, extensions: { code: 'NOT_FOUND' } }] } };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

async function getJson(url: string) {
  const { status, text } = await get(url);
  return { status, body: JSON.parse(text) as unknown };
}

describe('with a metrics port (METRICS_PORT=0)', () => {
  let gateway: TestGateway;
  const log = memoryLogger();
  beforeAll(async () => {
    gateway = await startTestGateway({ env: { METRICS_PORT: '0' }, logger: log.logger });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('serves /metrics in Prometheus text on a port of its own, with the gateway’s own series', async () => {
    const metrics = new URL(gateway.metricsUrl);
    const main = new URL(gateway.url);
    expect(metrics.hostname).toBe(main.hostname);
    expect(Number(metrics.port)).toBeGreaterThan(0);
    expect(metrics.port).not.toBe(main.port);

    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    const scrape = await get(`${gateway.metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const requests = parsePrometheusText(scrape.text).samples.filter((s) => s.name === 'graphql_requests_total');
    expect(requests.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(1);
  });

  it('does not serve /metrics on the public port: 404, as for any path it does not serve', async () => {
    expect(await getJson(`${gateway.url}/metrics`)).toEqual(notFound('/metrics'));
    expect(await getJson(`${gateway.url}/metrics?name[]=up`)).toEqual(notFound('/metrics'));
    expect(await getJson(`${gateway.url}/metrics/`)).toEqual(notFound('/metrics/'));
    expect(await getJson(`${gateway.url}/no-such-page`)).toEqual(notFound('/no-such-page'));
    expect((await fetch(`${gateway.url}/metrics`, { method: 'HEAD' })).status).toBe(404);
  });

  it('serves nothing else on the metrics port: no /graphql, no health, no pages', async () => {
    const graphql = await fetch(`${gateway.metricsUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
      body: JSON.stringify({ query: '{ viewer { clientId } }' }),
    });
    expect({ status: graphql.status, body: await graphql.json() }).toEqual({
      status: 404,
      body: { errors: [{ message: 'No route POST /graphql', extensions: { code: 'NOT_FOUND' } }] },
    });
    for (const path of ['/graphql', '/healthz', '/readyz', '/dashboard/', '/graphiql', '/docs/limits', '/usage.csv', '/']) {
      expect(await getJson(`${gateway.metricsUrl}${path}`)).toEqual(notFound(path));
    }
  });

  it('leaves the public port as it was: liveness, readiness and /graphql', async () => {
    expect(await getJson(`${gateway.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${gateway.url}/readyz`)).toEqual({ status: 200, body: { status: 'ready', checks: { config: 'ok' } } });
    const answer = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    expect({ status: answer.status, data: answer.body.data }).toEqual({ status: 200, data: { viewer: { clientId: 'globex-admin' } } });
  });

  it('logs where the metrics are, and no warning about the public port', () => {
    expect(log.lines.filter((line) => line.msg === 'metrics port').map((line) => line.url)).toEqual([`${gateway.metricsUrl}/metrics`]);
    expect(log.lines.filter((line) => String(line.msg).includes('/metrics is served on the public port'))).toEqual([]);
  });
});

describe('a metrics port from the config file', () => {
  it('listens on server.metricsPort and server.metricsHost, and is closed with the gateway: the port is free afterwards', async () => {
    const port = await freePort();
    const gateway = await startTestGateway({ patch: (config) => (config.server = { ...config.server, metricsPort: port, metricsHost: '127.0.0.1' }) });
    let closed = false;
    try {
      expect(gateway.metricsUrl).toBe(`http://127.0.0.1:${port}`);
      // fetch keeps this connection alive: an idle scraper connection must not hold the close open.
      expect((await get(`${gateway.metricsUrl}/metrics`)).status).toBe(200);
      const started = Date.now();
      await gateway.close();
      closed = true;
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(fetch(`${gateway.metricsUrl}/metrics`)).rejects.toThrow();
      // Nothing holds the port: another server can take it at once.
      const taker = createServer();
      await new Promise<void>((resolve, reject) => {
        taker.once('error', reject);
        taker.listen(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => taker.close(() => resolve()));
    } finally {
      if (!closed) await gateway.close();
    }
  });
});

describe('without a metrics port (as before)', () => {
  let gateway: TestGateway;
  const log = memoryLogger();
  beforeAll(async () => {
    gateway = await startTestGateway({ logger: log.logger });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('serves /metrics on the public port, without authentication', async () => {
    expect(gateway.metricsUrl).toBe(gateway.url);
    const scrape = await get(`${gateway.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(parsePrometheusText(scrape.text).types.get('graphql_requests_total')).toBe('counter');
  });

  it('warns once at start that /metrics is on the public port, and says how to move it', () => {
    const warnings = log.lines.filter((line) => String(line.msg).includes('/metrics is served on the public port'));
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        msg: `${PUBLIC_WARNING}: set server.metricsPort (METRICS_PORT) to serve it on an internal port only, or a token (METRICS_TOKEN)`,
      }),
    ]);
    expect(log.lines.filter((line) => line.msg === 'metrics port')).toEqual([]);
  });
});

describe('with a metrics token', () => {
  it('refuses a scrape on the metrics port without the token (401, WWW-Authenticate), serves it with the token', async () => {
    const gateway = await startTestGateway({ env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN } });
    try {
      const url = `${gateway.metricsUrl}/metrics`;
      for (const authorization of [
        null,
        `Bearer ${OTHER_TOKEN}`,
        `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
        `Bearer ${DEMO_TOKENS.platformAdmin}`,
      ]) {
        const refused = await get(url, authorization ? { authorization } : {});
        expect({ authorization, status: refused.status, challenge: refused.headers.get('www-authenticate'), body: JSON.parse(refused.text) }).toEqual({
          authorization,
          status: 401,
          challenge: 'Bearer realm="metrics"',
          body: {
            errors: [
              {
                message: 'GET /metrics needs the metrics token: send `authorization: Bearer <token>` (server.metricsTokenSha256).',
                extensions: { code: 'UNAUTHENTICATED' },
              },
            ],
          },
        });
      }
      const served = await get(url, { authorization: `Bearer ${TOKEN}` });
      expect(served.status).toBe(200);
      expect(parsePrometheusText(served.text).types.get('graphql_requests_total')).toBe('counter');
      // Still nowhere on the public port, token or not.
      expect((await get(`${gateway.url}/metrics`, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    } finally {
      await gateway.close();
    }
  });

  it('guards /metrics on the public port too, warns that it is there, and takes a new token on reload', async () => {
    const log = memoryLogger();
    const withToken = (sha256: string) => (config: Record<string, any>) => (config.server = { ...config.server, metricsTokenSha256: sha256 });
    const gateway = await startTestGateway({ patch: withToken(sha256Hex(TOKEN)), logger: log.logger });
    try {
      const url = `${gateway.url}/metrics`;
      expect((await get(url)).status).toBe(401);
      expect((await get(url, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      expect(log.lines.filter((line) => String(line.msg).includes('/metrics is served on the public port')).map((line) => line.msg)).toEqual([
        '/metrics is served on the public port (behind its bearer token): set server.metricsPort (METRICS_PORT) to serve it on an internal port only',
      ]);

      await gateway.writeConfig(withToken(sha256Hex(OTHER_TOKEN)));
      expect(await gateway.config.reloadNow()).toEqual({ ok: true });
      expect((await get(url, { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
      expect((await get(url, { authorization: `Bearer ${OTHER_TOKEN}` })).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});
