import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { IDE_DIST } from '../../src/http/ide-route.js';
import { launchChromium, openPage, screenshot } from '../support/chromium.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * GraphiQL, bundled from the graphiql package and served by the gateway: at GET /graphql for a
 * browser and at /graphiql, with nothing loaded from another origin (this network has no CDN).
 * In headless chromium: put a demo key in the headers editor, run the default operation, read
 * its cost and rate limits in the panel, and find a field's cost in the Docs explorer.
 */
let gateway: TestGateway;
let browser: Browser;
beforeAll(async () => {
  // CI builds it (`.ci/run`); a fresh checkout running `npm test` builds it here once (~10 s).
  if (!existsSync(join(IDE_DIST, 'index.html'))) execFileSync('npm', ['run', 'build:ide'], { stdio: 'ignore' });
  gateway = await startTestGateway();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

describe('the IDE over HTTP', () => {
  it('answers GET /graphql with the IDE page for a browser, and /graphiql, with a strict CSP; API clients still get JSON', async () => {
    for (const [path, accept] of [
      ['/graphql', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
      ['/graphiql', 'text/html'],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { headers: { accept } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
      const html = await response.text();
      // Every script, style and icon comes from this origin's /graphiql/.
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      expect(urls.filter((u) => !u.startsWith('/graphiql/'))).toEqual([]);
    }
    const api = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    const missing = await fetch(`${gateway.url}/graphiql/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).errors[0]).toEqual({ message: 'No IDE file /graphiql/assets/nope.js', extensions: { code: 'NOT_FOUND' } });
  });
});

describe('the IDE in a browser', () => {
  it('runs a query with a demo key and shows its cost and rate limits, with no request to another origin', async () => {
    const { page, problems, close } = await openPage(browser, [gateway.url]);
    try {
      await page.goto(`${gateway.url}/graphql`);
      const run = page.getByRole('button', { name: /^Execute query/ });
      await run.waitFor();
      // The headers editor (Monaco): replace its content with the key, as a user would.
      await page.locator('.monaco-editor[data-uri$="headers.json"]').click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(`{ "Authorization": "Bearer ${DEMO_TOKENS.globexAdmin}" }`);
      // Monaco closes the brace typed first by itself: drop what follows the cursor.
      await page.keyboard.press('Control+Shift+End');
      await page.keyboard.press('Delete');

      // The schema loads as soon as the key is in the headers, before any operation has run.
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      await page.getByText('Query', { exact: true }).first().click({ timeout: 10_000 });
      expect(await page.locator('.graphiql-doc-explorer').innerText()).not.toContain('Error fetching schema');
      await page.getByRole('button', { name: 'Hide Documentation Explorer' }).click();
      await run.click();

      await expect.poll(() => page.getByTestId('http-status').textContent()).toBe('HTTP 200');
      const cost = (await page.getByTestId('cost').textContent())!;
      expect(cost).toMatch(/^Cost: \d+ estimated, \d+ actual, type cost \d+ · cost budget [\d,]+ of 20,000 left per 1 minute$/);
      const limits = (await page.getByTestId('rate-limits').innerText()).split('\n');
      expect(limits[0]).toBe('policy\tremaining\tquota\twindow\tresets in');
      expect(limits.some((row) => /^minute\t\d+\t1,000\t60 s\t\d+ s$/.test(row))).toBe(true);
      expect(limits.some((row) => /^cost-minute\t[\d,]+\t20,000\t60 s\t\d+ s$/.test(row))).toBe(true);
      // Bytes as bytes and an hour's reset in minutes, never 999969235 or 3400 s.
      expect(
        limits.some((row) => /^bytes-hour\t[\d.]+ (GB|MB)\t1 GB\t1 h\t(\d+ min|\d+ s|1 h)$/.test(row)),
        limits.join(' | '),
      ).toBe(true);
      // The response itself ends with extensions.cost: scroll the response editor down to it.
      await page.locator('.graphiql-response .monaco-editor').click();
      await page.keyboard.press('Control+End');
      await expect.poll(() => page.locator('.graphiql-response').innerText()).toContain('"typeCost"');
      const shot = await screenshot(page, 'ide-query');

      // The Docs explorer shows a field's cost.
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      await page.getByText('Query', { exact: true }).first().click();
      await page.getByText('products', { exact: true }).first().click();
      await expect.poll(() => page.locator('.graphiql-doc-explorer').innerText()).toMatch(/List size: as many items as first asks for/);
      const docs = await screenshot(page, 'ide-docs');
      expect(problems).toEqual([]);
      console.log(`screenshots: ${shot} ${docs}`);
    } catch (error) {
      console.log(`failure screenshot: ${await screenshot(page, 'ide-failure')}; page problems: ${problems.join(' | ')}`);
      throw error;
    } finally {
      await close();
    }
  }, 60_000);
});
