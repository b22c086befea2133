import { readFile, readdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { launchChromium, openPage, screenshot, servePages, type PageServer } from '../support/chromium.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The "done when": a page on an allowed origin, with the publishable demo key and the
 * client kit, queries the gateway from headless chromium and renders data and the budget. The
 * kit's modules are served to the page as they are (TypeScript compiled one file at a time, no
 * bundler), which also shows that they need nothing but the browser.
 */
const KIT_DIR = new URL('../../src/client/', import.meta.url);

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Storefront</title>
<h1>Products</h1><ul id="products"></ul><p id="budget">budget: unknown</p>
<script type="module">
  import { createGatewayClient } from '/kit/client.js';
  const params = new URLSearchParams(location.search);
  const client = createGatewayClient({ url: params.get('gateway') + '/graphql', apiKey: params.get('key') });
  client.subscribe((budget) => {
    const t = budget.tightest;
    if (t) document.getElementById('budget').textContent = 'budget: ' + t.name + ' ' + t.remaining + ' of ' + t.quota + ' left';
  });
  const result = await client.request('query Storefront { products(first: 3) { name price { formatted } } }');
  for (const p of result.data.products) {
    const li = document.createElement('li');
    li.textContent = p.name + ' ' + p.price.formatted;
    document.getElementById('products').append(li);
  }
  document.body.dataset.status = String(result.status);
</script>`;

let pages: PageServer;
let gateway: TestGateway;
let browser: Browser;
beforeAll(async () => {
  const files: Record<string, [string, () => Promise<string>]> = {};
  for (const name of await readdir(KIT_DIR)) {
    if (!name.endsWith('.ts')) continue;
    files[`/kit/${name.replace(/\.ts$/, '.js')}`] = [
      'text/javascript',
      async () =>
        ts.transpileModule(await readFile(new URL(name, KIT_DIR), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText,
    ];
  }
  pages = await servePages({ '/': ['text/html', async () => PAGE], '/favicon.ico': ['image/x-icon', ''], ...files });
  gateway = await startTestGateway({ patch: (config) => (config.publishableKeys[0].allowedOrigins = [pages.origin]) });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await pages?.close();
});

describe('a web page using the client kit and a publishable key', () => {
  it('renders data from the gateway and shows the budget', async () => {
    const { page, problems, close } = await openPage(browser, [pages.origin, gateway.url]);
    try {
      await page.goto(`${pages.origin}/?gateway=${encodeURIComponent(gateway.url)}&key=${DEMO_TOKENS.acmePublishable}`);
      await page.waitForSelector('body[data-status="200"]');
      const items = await page.locator('#products li').allTextContents();
      expect(items).toHaveLength(3);
      expect(items.every((text) => /^\S.* \$\d+\.\d\d$/.test(text))).toBe(true);
      // The tightest policy for this key: its own per-address limit (60/min) is the smallest share left.
      expect(await page.locator('#budget').textContent()).toBe('budget: key-ip-minute 59 of 60 left');
      console.log(`screenshot: ${await screenshot(page, 'client-kit-storefront')}`);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });
});
