import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createLogger } from '../../src/observability/logger.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('cost calibration page of the platform console', () => {
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startTestGateway({ logger: createLogger({ level: 'silent' }), patch: (c) => (c.calibration = { enabled: true, sampleEvery: 1 }) });
    // Product tags are priced at assumedSize 5; the sample catalog's products carry 0 to 3.
    for (let i = 0; i < 3; i++) {
      const response = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ products(first: 20) { id tags } }');
      expect(response.status).toBe(200);
    }
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows what was returned per list field, the suggested @listSize edits and their effect', { timeout: 40_000 }, async () => {
    const report = (await gateway.gql(DEMO_TOKENS.platformAdmin, '{ costCalibration { fields { coordinate p95 suggestedAssumedSize } } }')).body.data
      .costCalibration;
    const tags = report.fields.find((f: { coordinate: string }) => f.coordinate === 'Product.tags');
    expect(tags.p95).toBeLessThan(5);
    expect(tags.suggestedAssumedSize).toBe(Math.max(1, tags.p95));

    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.waitForURL(/#\/fleet$/);
    await page.getByRole('link', { name: 'Cost calibration' }).click();
    await page.waitForURL(/#\/fleet\/calibration$/);
    const row = page.locator('[data-testid="calibration-fields"] tr', { has: page.locator('th', { hasText: /^Product\.tags$/ }) });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect([cells[0], cells[1], cells[2], cells[4], cells[7]]).toEqual(['assumedSize', '5', '60', String(tags.p95), String(tags.suggestedAssumedSize)]);
    expect(await page.getByTestId('calibration-edits').textContent()).toContain(`Product.tags: @listSize(assumedSize: ${tags.suggestedAssumedSize})`);
    await screenshot(page, 'console-calibration');
    expect(problems).toEqual([]);
  });

  it('says the request record is off when asked what the suggestions would do to the tenants near their cost limits', async () => {
    const response = await gateway.gql(
      DEMO_TOKENS.platformAdmin,
      `{ costCalibrationReplay(from: "${new Date(Date.now() - 60_000).toISOString()}", to: "${new Date().toISOString()}") { records } }`,
    );
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'The request record is off on this gateway (config record.enabled): there is nothing to replay.',
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it('tells a tenant key the page is not for it', { timeout: 40_000 }, async () => {
    const { page } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.globexAdmin);
    await page.waitForURL(/#\/usage$/);
    await page.goto(`${gateway.url}/dashboard/#/fleet/calibration`);
    // Generous: the shared session machine is loaded, and this is not a timing test.
    await expect.poll(() => page.getByTestId('calibration-error').textContent(), { timeout: 20_000 }).toBe('Cost calibration is for platform-admin keys only.');
  });
});
