import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Problems every page must be free of; 4xx answers the test provokes on purpose are expected. */
const unexpected = (problems: string[]) => problems.filter((p) => !/Failed to load resource: the server responded with a status of 429/.test(p));

describe('tenant portal in a real browser', () => {
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startTestGateway({
      // acme's minute limit is small so the test can drive it to 80% and 100% with a few requests.
      patch: (c) => {
        c.tenants.acme.overrides = { requestsPerMinute: 10 };
        c.usage = { flushIntervalMs: 100 };
      },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('signs in with a tenant key and shows plan, live windows and a history graph with the traffic just sent', async () => {
    for (let i = 0; i < 6; i++) expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // the meter flushes every 100 ms here
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.globexAdmin);

    await expect.poll(() => page.getByTestId('tenant-name').textContent()).toBe('Globex');
    expect(await page.getByTestId('plan-name').textContent()).toBe('Pro');
    const minute = page.locator('.gauge[data-policy="minute"]');
    expect(await minute.locator('.gauge__value').textContent()).toBe('6 / 1,000');
    expect(await minute.getAttribute('data-state')).toBe('ok');

    // The breakdowns name the key and the root fields.
    const byField = page.locator('[data-breakdown="by-root-field"]');
    await byField.locator('tbody th').first().waitFor();
    expect(await page.locator('[data-breakdown="by-client"] tbody th').allTextContents()).toEqual(['globex-admin']);
    expect(await byField.locator('tr', { hasText: 'Query.viewer' }).locator('td').first().textContent()).toBe('6');
    // The page's own `usage` queries are metered too. The sign-in's is metered when answered and
    // flushed within 100 ms here, which may be after the page's first history read (sent at once):
    // the history the page reads next (here: reopened) has it.
    await new Promise((r) => setTimeout(r, 300));
    await page.reload();
    await byField.locator('tbody th').first().waitFor();
    expect((await byField.locator('tbody th').allTextContents()).sort()).toEqual(['Query.usage', 'Query.viewer']);
    expect(await byField.locator('tr', { hasText: 'Query.viewer' }).locator('td').first().textContent()).toBe('6');

    // Graphing Query.viewer alone: the requests chart has a canvas, and its table view holds the six requests.
    await page.getByRole('button', { name: 'Graph Query.viewer alone' }).click();
    await expect.poll(() => page.locator('.filter-chip').textContent()).toContain('Query.viewer');
    const chart = page.locator('[data-chart="requests"]');
    await chart.locator('canvas').first().waitFor();
    await chart.getByText('Table view').click();
    const sumOk = async () => (await chart.locator('.chart__table tbody tr td:nth-child(2)').allTextContents()).map(Number).reduce((a, b) => a + b, 0);
    await expect.poll(sumOk).toBe(6);

    // The key is in session storage only: not in the URL, not in local storage, not in a cookie.
    expect(await page.evaluate('sessionStorage.getItem("usage-dashboard.api-key")')).toBe(DEMO_TOKENS.globexAdmin);
    expect(await page.evaluate('JSON.stringify(localStorage)')).toBe('{}');
    expect(page.url()).not.toContain(DEMO_TOKENS.globexAdmin);
    expect(await page.context().cookies()).toEqual([]);
    await screenshot(page, 'portal-globex');
    expect(unexpected(problems)).toEqual([]);
    await page.context().close();
  });

  it('turns a gauge amber at 80% and red at 100% of a limit, with the sentence of what happens', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    for (let i = 0; i < 8; i++) await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
    await signIn(page, gateway.url, DEMO_TOKENS.acmeAdmin);
    const minute = page.locator('.gauge[data-policy="minute"]');
    await expect.poll(() => minute.getAttribute('data-state')).toBe('warn');
    expect(await minute.locator('.gauge__value').textContent()).toBe('8 / 10');
    expect(await minute.locator('.gauge__flag').textContent()).toBe('Near the limit');
    await screenshot(page, 'portal-acme-amber');

    for (let i = 0; i < 2; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(429);
    await page.reload();
    await expect.poll(() => minute.getAttribute('data-state')).toBe('full');
    expect(await minute.locator('.gauge__value').textContent()).toBe('10 / 10');
    expect(await minute.locator('.gauge__flag').textContent()).toBe('Limit reached');
    expect(await minute.locator('.gauge__note').textContent()).toContain('refused with HTTP 429');
    // The page still answers while the tenant is throttled: its queries are free.
    expect(await page.getByTestId('tenant-name').textContent()).toBe('Acme Corp');
    await screenshot(page, 'portal-acme-red');
    expect(unexpected(problems)).toEqual([]);
    await page.context().close();
  });

  it('reopened with the key in the session, asks for its windows and history once each and shows them', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    const sent: string[] = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/graphql')) sent.push((JSON.parse(req.postData() ?? '{}') as { operationName?: string }).operationName ?? '?');
    });
    // Only the last document's requests: the page before the reload may still be sending its
    // forecast and SLA queries when the reload starts.
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) sent.length = 0;
    });
    await signIn(page, gateway.url, DEMO_TOKENS.globexAdmin);
    await page.locator('.gauge').first().waitFor();

    // A reload runs the page from the start with the key in session storage: the first data is
    // requested before the page renders (portal-prefetch.ts), and the page must use those
    // answers rather than ask again when it mounts.
    await page.reload();
    await page.locator('.gauge').first().waitFor();
    await page.locator('[data-chart="requests"] canvas').first().waitFor();
    await expect.poll(() => sent.includes('PortalForecast') && sent.includes('PortalSla')).toBe(true);
    const firstLoad = sent.slice(0, sent.indexOf('PortalForecast'));
    expect(firstLoad.filter((op) => op === 'PortalNow')).toHaveLength(1);
    expect(firstLoad.filter((op) => op === 'PortalHistory')).toHaveLength(1);
    expect(await page.getByTestId('tenant-name').textContent()).toBe('Globex');
    expect(unexpected(problems)).toEqual([]);
    await page.context().close();
  });

  it('refuses a bad key and keeps nothing', async () => {
    const { page } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, 'not-a-key');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('That API key is not valid.');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await screenshot(page, 'sign-in-refused');
    await page.context().close();
  });
});
