import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchBrowser, openPage, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** The history charts as a new user reads them: what they count, and what they leave out. */
describe('history charts in a real browser', () => {
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.usage = { flushIntervalMs: 100 };
      },
    });
    for (let i = 0; i < 3; i++) await gateway.gql(DEMO_TOKENS.globexAdmin, '{ products(first: 2) { id } }');
    await new Promise((r) => setTimeout(r, 300));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('keeps refused work out of the requested cost and marks the bucket still filling', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.getByLabel('Range').selectOption('1h');
    const cost = page.locator('[data-chart="cost"]');
    await cost.locator('summary').click();
    const requestedSum = async () =>
      (await cost.locator('.chart__table tbody tr td:first-of-type').allTextContents()).reduce((sum, v) => sum + Number(v.replace(/,/g, '')), 0);
    await cost.locator('.chart__table tbody tr').first().waitFor();
    const before = await requestedSum();

    // Six times 102 points, over the Free plan's 500 per operation: refused before it runs.
    const aliases = Array.from({ length: 6 }, (_, i) => `c${i}: customers(first: 50) { edges { node { orders(first: 50) { id } } } }`);
    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, `{ ${aliases.join(' ')} }`);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    const estimate = refused.body.errors?.[0]?.extensions?.estimate as number;
    // Asked again at once (a new range), rather than at the page's next 15 s poll.
    await new Promise((r) => setTimeout(r, 300));
    await page.getByLabel('Range').selectOption('24h');
    await page.getByLabel('Range').selectOption('1h');
    const costNote = page.locator('[data-chart="cost"] .chart__note');
    await expect.poll(() => costNote.textContent(), { timeout: 30_000 }).toContain('Refused requests are left out: they never ran');
    expect(await costNote.textContent()).toContain(`(${estimate.toLocaleString('en-US')} points estimated in this range)`);
    // Drawn as requested cost, the refused operation would be the highest point of the chart.
    // Polled: the note can show while the table of the range asked last is still being drawn.
    await expect.poll(requestedSum, { timeout: 10_000 }).toBe(before);
    // The newest minute is still filling: shaded on the chart, marked in the table.
    const minutes = await cost.locator('.chart__table tbody tr').count();
    for (const id of ['requests', 'cost', 'bytes', 'latency', 'cache']) {
      expect(await page.locator(`[data-chart="${id}"]`).getAttribute('data-partial-from')).toBe(String(minutes - 1));
    }
    expect(await cost.locator('.chart__table tbody tr').last().locator('th').textContent()).toContain('(still filling)');
    expect(await cost.locator('.chart__table tbody tr').first().locator('th').textContent()).not.toContain('(still filling)');
    // Under the throttled status, the cost chart shows exactly what was refused.
    await page.getByLabel('Status').selectOption('THROTTLED');
    await expect.poll(() => cost.locator('.chart__table thead th').allTextContents()).toEqual(['Bucket (UTC)', 'refused (estimate)']);
    const refusedCells = (await cost.locator('.chart__table tbody tr td').allTextContents()).map((v) => Number(v.replace(/,/g, '')));
    expect(refusedCells.reduce((a, b) => a + b, 0)).toBe(estimate);
    expect(problems).toEqual([]);
    await page.context().close();
  }, 60_000);
});
