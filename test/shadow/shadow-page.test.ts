import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The console's Shadow limits page in a real browser, on the one-process gateway: a halved Free
 * plan in shadow (config), traffic over it, the page says who would be refused (key, limit, count,
 * first and latest), and its Promote button enforces it (the next request over is refused).
 */
describe('the shadow limits page', () => {
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (config) => {
        config.plans['free-half'] = { displayName: 'Free (halved)', limits: { ...config.plans.free.limits, requestsPerMinute: 4, burst: undefined } };
        config.plans.free.shadow = { plan: 'free-half' };
      },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows who the shadow would refuse, and promotes it', async () => {
    for (let i = 0; i < 6; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);

    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.getByRole('link', { name: 'Shadow limits' }).click();
    const acme = page.getByTestId('shadow-tenants').getByRole('row', { name: /Acme/ });
    await expect.poll(() => acme.textContent()).toMatch(/^Acme.*free.*free-half \(plan\)2/);
    expect(await page.getByTestId('shadow-refusals').getByRole('row').nth(1).locator('td').allTextContents()).toEqual([
      'acme-admin',
      'minute',
      '2',
      expect.stringMatching(/^\d\d:\d\d:\d\d$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d$/),
    ]);
    await screenshot(page, 'shadow-limits');

    page.on('dialog', (dialog) => void dialog.accept());
    await acme.getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => page.getByTestId('shadow-message').textContent()).toMatch(/^Acme[^:]*: the shadow limits are enforced \(plan free-half/);
    // Acme is no longer covered by a shadow, and its plan is the promoted one: 4 a minute, already used.
    await expect.poll(() => page.getByTestId('shadow-tenants').getByRole('row', { name: /Acme/ }).count()).toBe(0);
    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', plan: 'free-half', limit: 4 });
    expect(problems).toEqual([]);
  }, 60_000);
});
