import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, registerDashboard } from '../../src/http/dashboard-route.js';

describe('GET /dashboard', () => {
  let dir: string;
  const app = Fastify();
  const empty = Fastify();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboard-dist-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/dashboard/assets/app-1.js"></script>');
    await writeFile(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
    await writeFile(join(dir, '..', 'secret.txt'), 'not for you');
    registerDashboard(app, { dir });
    registerDashboard(empty, { dir: join(dir, 'missing') });
  });
  afterAll(async () => {
    await app.close();
    await empty.close();
    await rm(dir, { recursive: true, force: true });
    await rm(join(dir, '..', 'secret.txt'), { force: true });
  });

  it('serves the page with a CSP that allows no inline script, and no caching of the page', async () => {
    const res = await app.inject('/dashboard/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('serves hashed assets as immutable with their type', async () => {
    const res = await app.inject('/dashboard/assets/app-1.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.body).toBe('console.log(1)');
  });

  it('redirects / and /dashboard to /dashboard/', async () => {
    expect((await app.inject('/')).headers.location).toBe('/dashboard/');
    const res = await app.inject('/dashboard');
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/dashboard/');
  });

  it('answers 404 NOT_FOUND for files the build did not write, traversal included', async () => {
    for (const url of ['/dashboard/nope.js', '/dashboard/../secret.txt', '/dashboard/%2e%2e/secret.txt', '/dashboard/assets/../../secret.txt']) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('not for you');
    }
    const res = await app.inject('/dashboard/nope.js');
    expect(res.json()).toEqual({ errors: [{ message: 'No dashboard file /dashboard/nope.js', extensions: { code: 'NOT_FOUND' } }] });
  });

  it('says how to build the dashboard when it is not built', async () => {
    const res = await empty.inject('/dashboard/');
    expect(res.statusCode).toBe(404);
    expect(res.json().errors[0].message).toBe('The dashboard is not built: run `npm run build:dashboard`.');
  });
});
