import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { deliver, stripeEvent, subscriptionObject } from '../support/fake-stripe.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** The console's audit trail page (`#/fleet/audit`) in a real browser, over `fleetUsage.auditTrail`. */
const SECRET = 'whsec_test_audit_page';

describe('the audit trail in the platform console', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let billingEventId = '';

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.defaultPlan = 'free';
        c.billing = { webhookSecret: SECRET, prices: { price_pro: { plan: 'pro' } } };
      },
    });
    // 27 admin changes (two pages of 25), then one billing event: the newest entry.
    for (let i = 1; i <= 27; i++) {
      const tenantId = i % 3 === 0 ? 'globex' : 'initech';
      const r = await gateway.gql(
        DEMO_TOKENS.platformAdmin,
        'mutation($t: ID!, $n: Int!) { setTenantLimits(tenantId: $t, input: { requestsPerMinute: $n, expiresInSeconds: 3600 }) { tenantId } }',
        { t: tenantId, n: 100 + i },
      );
      expect(r.body.errors).toBeUndefined();
    }
    const event = stripeEvent(
      'customer.subscription.created',
      subscriptionObject({ id: 'sub_audit', customer: 'cus_audit', status: 'active', prices: ['price_pro'], tenant: 'acme' }),
    );
    billingEventId = event.id;
    expect((await deliver(`${gateway.url}/webhooks/billing`, event, SECRET)).body.result).toBe('applied');
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('pages through every change, newest first, with source, actor, and the plan before and after', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.waitForURL(/#\/fleet$/);
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.waitForURL(/#\/fleet\/audit$/);
    const rows = page.locator('[data-table="audit-trail"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(25);

    const newest = rows.first();
    expect(await newest.locator('[data-col="source"]').textContent()).toBe('Billing');
    expect(await newest.locator('[data-col="actor"]').textContent()).toBe(`stripe (${billingEventId})`);
    expect(await newest.locator('[data-col="tenant"]').textContent()).toBe('Acme Corp');
    expect(await newest.locator('[data-col="before"]').textContent()).toBe('free (config)');
    expect(await newest.locator('[data-col="after"]').textContent()).toBe('pro (billing)');
    expect(await newest.locator('[data-col="change"]').textContent()).toBe('subscription: plan pro');
    // Then the admin changes, the last one made first.
    const second = rows.nth(1);
    expect(await second.locator('[data-col="source"]').textContent()).toBe('Admin');
    expect(await second.locator('[data-col="actor"]').textContent()).toBe('platform-ops');
    expect(await second.locator('[data-col="change"]').textContent()).toMatch(/^set requestsPerMinute 127 until /);
    await screenshot(page, 'console-audit-trail');

    await page.getByRole('button', { name: 'Older →' }).click();
    await expect.poll(() => page.getByTestId('audit-page').textContent()).toBe('Page 2');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.locator('[data-col="change"]').allTextContents()).toEqual([
      expect.stringMatching(/^set requestsPerMinute 103 until /),
      expect.stringMatching(/^set requestsPerMinute 102 until /),
      expect.stringMatching(/^set requestsPerMinute 101 until /),
    ]);
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: '← Newer' }).click();
    await expect.poll(() => rows.count()).toBe(25);

    // One tenant's changes only: globex's 9.
    await page.getByLabel('Tenant').selectOption('globex');
    await expect.poll(() => rows.count()).toBe(9);
    expect(new Set(await rows.locator('[data-col="tenant"]').allTextContents())).toEqual(new Set(['Globex']));
    expect(await page.getByTestId('audit-page').textContent()).toBe('Page 1');
    expect(problems).toEqual([]);
  }, 60_000);
});
