import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`); playwright-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests write their screenshots (gitignored). */
export const SCREENSHOT_DIR = join(process.cwd(), '.tmp', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page that records what a user would not want: uncaught errors, console errors, and every
 * request to an origin not in `origins` (nothing may come from a CDN: this network has none).
 */
export async function openPage(browser: Browser, origins: string[]): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && !origins.some((o) => url.startsWith(o))) problems.push(`request to another origin: ${url}`);
  });
  return { page, problems, close: () => context.close() };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface PageServer {
  /** `http://127.0.0.1:<port>`: an origin of its own, other than the gateway's. */
  origin: string;
  close(): Promise<void>;
}

/** Serves `files` (path -> [content type, body]) on a free port: a web app on another origin than the gateway. */
export async function servePages(files: Record<string, [string, string | (() => string | Promise<string>)]>, host = '127.0.0.1'): Promise<PageServer> {
  const server: Server = createServer(async (req, res) => {
    const file = files[(req.url ?? '/').split('?')[0]!];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const [type, body] = file;
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(typeof body === 'function' ? await body() : body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host === '127.0.0.1' ? '127.0.0.1' : host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
