import { rm } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createLogger } from '../../src/observability/logger.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { schemaWithItemsSized } from '../support/sized-schema.js';

const QUERY = 'query Orders($first: Int) { orders(first: $first) { nodes { id items { quantity product { name } } } } }';

/**
 * The cost calibration page's "Tenants near their cost limits" (issue 23, item 3), on a gateway
 * without Redis (the record and its operations in process): `Order.items` priced at 40 for 1 to 5
 * line items, so acme (1,000 cost points a minute) is refused some of 20 requests; with the
 * suggested size, none.
 */
describe('cost calibration page: tenants near their cost limits, before and after the suggestions', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let schemaDir: string;
  let refusedLive = 0;

  beforeAll(async () => {
    schemaDir = await schemaWithItemsSized(40);
    gateway = await startTestGateway({
      logger: createLogger({ level: 'silent' }),
      schemaDir,
      patch: (c) => {
        c.calibration = { enabled: true, sampleEvery: 1 };
        c.record = { enabled: true, flushIntervalMs: 200 };
      },
    });
    for (let i = 0; i < 20; i++) {
      const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, QUERY, { first: 10 });
      if (response.status === 429) refusedLive += 1;
      else expect(response.status).toBe(200);
    }
    expect(refusedLive).toBeGreaterThan(0);
    // The record is written every 200 ms.
    await new Promise((r) => setTimeout(r, 600));
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await rm(schemaDir, { recursive: true, force: true });
  });

  it('replays the last 15 minutes with the suggestions and shows acme refused before and not after', { timeout: 40_000 }, async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.waitForURL(/#\/fleet$/);
    await page.getByRole('link', { name: 'Cost calibration' }).click();
    await page.waitForURL(/#\/fleet\/calibration$/);
    await page.getByLabel('Replay period').selectOption('15m');
    await page.getByRole('button', { name: 'Replay with the suggestions' }).click();
    const row = page.locator('[data-testid="calibration-replay-tenants"] tr[data-tenant="acme"]');
    await row.waitFor();
    expect(await row.locator('[data-col="refused-before"]').textContent()).toBe(String(refusedLive));
    expect(await row.locator('[data-col="refused-after"]').textContent()).toBe('0');
    expect(await row.locator('td').last().textContent()).toBe('0 of 20');
    const summary = await page.getByTestId('calibration-replay-summary').textContent();
    expect(summary).toContain('20 recorded requests');
    expect(summary).toContain(`cost refusals ${refusedLive} → 0`);
    await screenshot(page, 'console-calibration-replay');
    expect(problems).toEqual([]);
  });
});
