import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** A tenant name that would run script if any page rendered it as HTML. */
const XSS_NAME = '<img src=x onerror="window.__xss=1">Acme';

describe('platform console in a real browser', () => {
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.tenants.acme.displayName = XSS_NAME;
        c.usage = { flushIntervalMs: 100 };
      },
    });
    for (let i = 0; i < 4; i++) await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    for (let i = 0; i < 2; i++) await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
    await new Promise((r) => setTimeout(r, 300));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows top consumers, filters them, and drills into a tenant', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.waitForURL(/#\/fleet$/);
    const rows = page.locator('[data-panel="consumers"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tenant')))).toEqual(['globex', 'acme']);
    expect(await rows.nth(0).locator('[data-col="requests"]').textContent()).toBe('4');
    // The tenant-controlled name is text: shown as typed, no element made from it, nothing run.
    expect(await rows.nth(1).locator('th a').textContent()).toBe(XSS_NAME);
    expect(await page.locator('[data-panel="consumers"] img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('[data-panel="health"]').textContent()).toContain('Redis: not configured');
    await screenshot(page, 'console');

    // Plans by display name, as every page writes them (the values stay the ids).
    expect(await page.getByLabel('Plan', { exact: true }).locator('option').allTextContents()).toEqual(['All plans', 'Enterprise', 'Free', 'Pro']);
    expect(await rows.nth(0).locator('td').first().textContent()).toBe('Pro');
    await page.getByLabel('Plan', { exact: true }).selectOption('free');
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tenant')))).toEqual(['acme']);
    await page.getByLabel('Plan', { exact: true }).selectOption('');
    await page.getByLabel('API key').selectOption('globex-admin');
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tenant')))).toEqual(['globex']);
    await page.getByLabel('Status').selectOption('THROTTLED');
    await expect.poll(() => page.locator('[data-panel="consumers"]').textContent()).toContain('No requests match the filters');
    // The status narrows the charts and the By plan / By root field tables too, not only Top consumers.
    await expect.poll(() => page.locator('[data-chart="requests"] figcaption').textContent()).toBe('Requests: throttled');
    expect(await page.locator('[data-panel="plans"]').textContent()).toContain('No throttled requests in this range.');
    await page.getByLabel('Status').selectOption('OK');
    await expect.poll(() => rows.locator('[data-col="matching"]').allTextContents()).toEqual(['4']);
    await expect.poll(() => page.locator('[data-chart="requests"] figcaption').textContent()).toBe('Requests: ok');
    expect(await page.locator('[data-chart="requests"] .u-legend .u-series th').allTextContents()).toEqual(['Time', 'ok']);
    expect(await page.locator('[data-panel="plans"] tbody th').allTextContents()).toEqual(['Pro', 'Free']);
    expect(await page.locator('[data-panel="plans"] [data-col="matching"]').allTextContents()).toEqual(['4', '2']);
    expect(await page.locator('[data-chart="latency"] .chart__note').textContent()).toContain('Of every outcome, not only ok');
    await screenshot(page, 'console-filtered');

    await rows.first().getByRole('link', { name: 'Globex' }).click();
    await page.waitForURL(/#\/fleet\/tenant\/globex$/);
    await expect.poll(() => page.getByTestId('tenant-name').textContent()).toBe('Globex');
    await page.locator('.gauge[data-policy="minute"]').waitFor();
    expect(await page.locator('.gauge[data-policy="client-minute"]').count()).toBe(0);
    await page.locator('[data-breakdown="by-client"] tbody th').first().waitFor();
    expect(await page.locator('[data-breakdown="by-client"] tbody th').allTextContents()).toEqual(['globex-admin']);
    await page.locator('[data-panel="forecast"]').waitFor();
    // Four requests this hour are no history to project a month from: the forecast says so.
    const tooLittle = page.locator('[data-forecast="requests-month"] [data-col="too-little"]');
    expect(await tooLittle.textContent()).toBe('Too little history to forecast: 0 of the 12 hours with traffic it needs.');
    await screenshot(page, 'console-drill-down');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("changes a tenant's limits for a while and lists who did it", async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    const form = page.getByRole('form', { name: "Change a tenant's limits" });
    await form.getByLabel('Tenant').selectOption('globex');
    await form.getByLabel('Requests per minute').fill('42');
    await form.getByLabel('Expires in (minutes)').fill('30');
    await form.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^Limits of globex changed until /);
    const overrides = page.locator('[data-table="overrides"] tbody tr');
    await expect.poll(() => overrides.allTextContents()).toHaveLength(1);
    expect(await overrides.first().locator('td').nth(1).textContent()).toBe('42');
    const audit = page.locator('[data-table="audit"] tbody tr');
    expect(await audit.first().locator('td').allTextContents()).toEqual(['platform-ops', 'Globex', expect.stringMatching(/^set requestsPerMinute 42 until /)]);
    // The change is in force for the tenant: its portal's minute limit is 42.
    const res = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ usage { limits { requestsPerMinute } } }');
    expect(res.body.data.usage.limits.requestsPerMinute).toBe(42);
    await screenshot(page, 'console-limit-change');

    await page.getByRole('button', { name: 'Clear the runtime limits of Globex' }).click();
    await expect.poll(() => audit.first().locator('td').allTextContents()).toEqual(['platform-ops', 'Globex', 'cleared runtime limits']);
    expect(await page.locator('[data-table="overrides"]').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('refuses a tenant key on the platform pages, and renders its own name as text', async () => {
    const { page } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.acmeAdmin);
    await expect.poll(() => page.getByTestId('tenant-name').textContent()).toBe(XSS_NAME);
    expect(await page.locator('.plan img').count()).toBe(0);

    await page.goto(`${gateway.url}/dashboard/#/fleet`);
    await expect.poll(() => page.getByTestId('console-error').textContent()).toBe('fleetUsage is for platform-admin keys only.');
    expect(await page.locator('[data-panel="consumers"]').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain('Globex');
    await screenshot(page, 'console-refused-tenant-key');

    await page.goto(`${gateway.url}/dashboard/#/fleet/tenant/globex`);
    await expect
      .poll(() => page.locator('.usage-view .error').first().textContent())
      .toBe('Could not load the current limits: fleetUsage is for platform-admin keys only.');
    expect(await page.getByTestId('tenant-name').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await page.context().close();
  });
});
