/**
 * `npm run screenshots`: regenerates the README's pictures of the dashboard (docs/dashboard-*.png)
 * from the embedded demo as `npm start` runs it (a synthetic month, live traffic), plus a burst of
 * real requests with the Acme key so its gauges show the amber state. Needs the built dashboard
 * and Debian's chromium, like the browser tests.
 */
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DEMO_TOKENS } from '../src/config/demo.js';
import { startGateway } from '../src/gateway.js';
import { createLogger } from '../src/observability/logger.js';

const out = join(process.cwd(), 'docs');
const gateway = await startGateway({ env: { PORT: '0' }, logger: createLogger({ level: 'silent' }) });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  // Acme (Free, 100 a minute): 85 real requests put its minute window at 85%.
  for (let i = 0; i < 85; i++) {
    await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
      body: JSON.stringify({ query: '{ products(first: 3) { id name } }' }),
    }).then((r) => r.arrayBuffer());
  }
  await new Promise((r) => setTimeout(r, 1500)); // one meter flush

  const shoot = async (name: string, apiKey: string | null, hash: string, ready: string) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gateway.url}/dashboard/`);
    if (apiKey) {
      await page.getByLabel('API key').fill(apiKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      if (hash) await page.goto(`${gateway.url}/dashboard/${hash}`);
    }
    await page.locator(ready).first().waitFor({ timeout: 10_000 });
    await page.waitForTimeout(500); // charts draw after their data arrives
    await page.screenshot({ path: join(out, `dashboard-${name}.png`), fullPage: true });
    console.log(`wrote docs/dashboard-${name}.png`);
    await context.close();
  };
  await shoot('sign-in', null, '', 'form');
  await shoot('portal-acme', DEMO_TOKENS.acmeAdmin, '', '[data-panel="forecast"]');
  await shoot('portal-initech', DEMO_TOKENS.initechAdmin, '', '[data-panel="sla"]');
  await shoot('console', DEMO_TOKENS.platformAdmin, '', '[data-panel="consumers"] tbody tr');
  await shoot('console-drill-down', DEMO_TOKENS.platformAdmin, '#/fleet/tenant/globex', '[data-chart="requests"] canvas');
} finally {
  await browser.close();
  await gateway.close();
}
