import type { Browser, CDPSession } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchChromium, openPage, servePages, type PageServer } from '../support/chromium.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * CORS as a real browser does it (Debian's chromium via playwright-core): a page on an allowed
 * origin calls the gateway with the tenant's publishable key and reads the rate-limit headers; a
 * page on another origin is refused. Page script runs in the page, so only what CORS exposes is
 * readable, exactly as in a web app.
 */
let gateway: TestGateway;
let allowed: PageServer;
let refused: PageServer;
let browser: Browser;

const PAGE = '<!doctype html><title>app</title><p id="out">waiting</p>';

beforeAll(async () => {
  allowed = await servePages({ '/': ['text/html', PAGE] });
  refused = await servePages({ '/': ['text/html', PAGE] });
  gateway = await startTestGateway({
    patch: (config) => {
      config.publishableKeys[0].allowedOrigins = [allowed.origin];
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await allowed?.close();
  await refused?.close();
});

/** Runs in the page: POSTs a query and returns what page script can read. */
async function callFromPage(origin: string, token: string) {
  const { page, close } = await openPage(browser, [origin, gateway.url]);
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const preflights: string[] = [];
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.request.method === 'OPTIONS') preflights.push(event.request.url);
  });
  await page.goto(`${origin}/`);
  // Runs in the page (DOM types are not in this project's lib): its result is plain JSON.
  const result: any = await page.evaluate(
    async ({ url, token }) => {
      const call = async () => {
        try {
          const response = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ viewer { clientId } products(first: 2) { name } }' }),
          });
          const body = (await response.json()) as any;
          const headers = Object.fromEntries(
            ['ratelimit', 'ratelimit-policy', 'x-ratelimit-remaining', 'x-request-id', 'content-type'].map((h) => [h, response.headers.get(h)]),
          );
          return { status: response.status, body, headers };
        } catch (error) {
          return { failed: String(error) };
        }
      };
      const first = await call();
      const second = await call();
      if ('status' in first && first.status === 200)
        (globalThis as any).document.getElementById('out').textContent = first.body.data.products.map((n: { name: string }) => n.name).join(', ');
      return { first, second, text: (globalThis as any).document.getElementById('out').textContent };
    },
    { url: gateway.url, token },
  );
  await close();
  return { ...result, preflights };
}

describe('from a real browser', () => {
  it('a page on an allowed origin queries with the publishable key, renders data and reads the exposed headers; one preflight for two requests', async () => {
    const { first, second, text, preflights } = await callFromPage(allowed.origin, DEMO_TOKENS.acmePublishable);
    expect(first).toMatchObject({ status: 200 });
    if (!('status' in first)) throw new Error('unreachable');
    expect(first.body.data.viewer.clientId).toBe('acme-storefront');
    expect(text).toMatch(/\w+, \w+/);
    expect(first.headers['ratelimit-policy']).toContain('"minute";q=100;w=60');
    expect(first.headers.ratelimit).toMatch(/"key-ip-minute";r=59;t=\d+/);
    expect(first.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toMatchObject({ status: 200 });
    // Authorization and a JSON body need a preflight; Access-Control-Max-Age lets the browser reuse it.
    expect(preflights).toEqual([`${gateway.url}/graphql`]);
  });

  it('a page on an allowed origin using a secret key gets 403 ORIGIN_NOT_ALLOWED it can read', async () => {
    const { first } = await callFromPage(allowed.origin, DEMO_TOKENS.acmeAdmin);
    expect(first).toMatchObject({ status: 403 });
    if (!('status' in first)) throw new Error('unreachable');
    expect(first.body.errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(first.body.errors[0].message).toContain('tenants.acme.cors.allowedOrigins');
  });

  it('a page on another origin cannot call the gateway at all (the preflight is refused)', async () => {
    const { first, preflights } = await callFromPage(refused.origin, DEMO_TOKENS.acmePublishable);
    expect(first).toEqual({ failed: 'TypeError: Failed to fetch' });
    // A refused preflight is not cached: each attempt asks again, and is refused again.
    expect(preflights).toEqual([`${gateway.url}/graphql`, `${gateway.url}/graphql`]);
  });
});
