import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DASHBOARD_DIST } from '../../src/http/dashboard-route.js';

/** Debian's chromium (`apt-get install chromium`); playwright-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where the browser tests write their screenshots (gitignored); `npm run screenshots` writes docs/. */
export const SCREENSHOT_DIR = join(process.cwd(), '.tmp', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) {
    throw new Error('dashboard/dist is missing: run `npm run build:dashboard` before the browser tests');
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page that records what a user would never want to see: uncaught errors, console errors
 * (CSP violations land there) and any request to another origin (nothing may come from a CDN).
 */
export async function openPage(browser: Browser, gatewayUrl: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Fail a step in seconds with the locator's name, well inside the test's own timeout.
  page.setDefaultTimeout(5000);
  const problems: string[] = [];
  const origin = new URL(gatewayUrl).origin;
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('request', (req) => {
    if (!req.url().startsWith(origin) && !req.url().startsWith('data:')) problems.push(`request to another origin: ${req.url()}`);
  });
  return { page, problems };
}

export async function signIn(page: Page, gatewayUrl: string, apiKey: string): Promise<void> {
  await page.goto(`${gatewayUrl}/dashboard/`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
