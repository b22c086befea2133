import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deliverUntilOk, startFakeStripe, stripeEvent, subscriptionObject, type FakeStripe } from '../support/fake-stripe.js';

/**
 * The portal's billing page in a real browser: without a Stripe key it says what to configure;
 * with one, Upgrade goes to Stripe Checkout (the fake's URL, answered here by the browser
 * routing), the page shows the upgrade pending, and the plan changes once the webhook lands.
 */
const SECRET = 'whsec_test_billing_page';
const fakeCheckout = '<!doctype html><title>Stripe Checkout</title><h1>Stripe Checkout (test)</h1>';

describe('the billing page', () => {
  let stripe: FakeStripe;
  let plain: TestGateway;
  let billed: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    plain = await startTestGateway();
    billed = await startTestGateway({
      patch: (c) => {
        c.billing = { ...c.billing, secretKey: 'sk_test_page', webhookSecret: SECRET, apiUrl: stripe.url };
      },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([plain?.close(), billed?.close()]);
    await stripe?.close();
  });

  it('says what to configure when the gateway has no Stripe key, and still lists the plans on sale', async () => {
    const { page, problems } = await openPage(browser, plain.url);
    await signIn(page, plain.url, DEMO_TOKENS.acmeAdmin);
    await page.getByRole('link', { name: 'Plan and billing' }).click();
    await expect.poll(() => page.getByTestId('billing-setup').textContent()).toMatch(/^Upgrades need Stripe: set billing.secretKey/);
    expect(await page.getByTestId('billing-plan').textContent()).toBe('Your plan: Free (set by your operator)');
    expect(await page.locator('tr th').allTextContents()).toEqual(['Pro', 'Enterprise']);
    expect(await page.getByRole('button', { name: 'Upgrade' }).first().isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('upgrades through Checkout: pending until the subscription event, then the new plan', async () => {
    const { page, problems } = await openPage(browser, billed.url);
    await page.route('https://checkout.stripe.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: fakeCheckout }));
    await signIn(page, billed.url, DEMO_TOKENS.acmeAdmin);
    await page.getByRole('link', { name: 'Plan and billing' }).click();
    await page.getByRole('row', { name: /Pro/ }).getByRole('button', { name: 'Upgrade' }).click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/);
    const session = [...stripe.checkoutSessions.values()].at(-1)!;
    expect(session).toMatchObject({ client_reference_id: 'acme', price: 'price_demo_pro' });

    // The customer comes back before Stripe's event: the page says the upgrade is pending.
    await page.goto(String(session.success_url));
    await expect.poll(() => page.getByTestId('upgrade-pending').textContent()).toMatch(/^Upgrade to pro pending/);
    await screenshot(page, 'billing-pending');

    const sub = subscriptionObject({ id: 'sub_page', customer: String(session.customer), status: 'active', prices: ['price_demo_pro'], tenant: 'acme' });
    stripe.subscriptions.set('sub_page', sub);
    await deliverUntilOk(`${billed.url}/webhooks/billing`, stripeEvent('customer.subscription.created', sub), SECRET);
    await expect.poll(() => page.getByTestId('billing-plan').textContent(), { timeout: 5000 }).toBe('Your plan: Pro (your subscription)');
    expect(await page.getByTestId('upgrade-pending').count()).toBe(0);
    expect(await page.getByRole('row', { name: /Pro/ }).textContent()).toContain('Current plan');
    await screenshot(page, 'billing-upgraded');
    // The one request to another origin is the redirect to Checkout the test asked for.
    expect(problems).toEqual([expect.stringMatching(/^request to another origin: https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/)]);
  });
});
