import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Customer, Product } from '../../src/sample-services/records.js';
import { startSampleServices, type RecordedRequest, type SampleServices } from '../../src/sample-services/start.js';
import { call } from './call.js';

let services: SampleServices;
let catalog: string;

beforeAll(async () => {
  services = await startSampleServices();
  catalog = services.urls.catalog;
});
afterAll(() => services.close());
beforeEach(() => services.resetAll());

const admin = (path: string, body?: unknown) => call(`${catalog}/_admin/${path}`, { method: body === undefined ? 'GET' : 'POST', body, tenant: null });

describe('knobs', () => {
  it('delays every non-admin request by latencyMs, but not admin routes', async () => {
    services.services.catalog.setKnobs({ latencyMs: 150 });
    const started = performance.now();
    const response = await call(`${catalog}/products/prd_1`);
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(149); // timers may fire <1 ms early
    const adminStarted = performance.now();
    await admin('counters');
    expect(performance.now() - adminStarted).toBeLessThan(150);
  });

  it('fails the next N requests with the status and Retry-After, then answers normally', async () => {
    services.services.catalog.setKnobs({ failNext: { count: 2, status: 503, retryAfterSeconds: 7 } });
    for (let i = 0; i < 2; i++) {
      const failed = await call<{ error: string }>(`${catalog}/products/prd_1`);
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('7');
      expect(failed.body.error).toBe('injected failure: catalog answers 503');
    }
    const healed = await call<Product>(`${catalog}/products/prd_1`);
    expect(healed.status).toBe(200);
    expect(healed.headers.get('retry-after')).toBeNull();
    expect(healed.body.id).toBe('prd_1');
  });

  it('answers 500 to every request with errorRate 1, and only to this service', async () => {
    services.services.catalog.setKnobs({ errorRate: 1 });
    for (let i = 0; i < 5; i++) expect((await call(`${catalog}/products?first=1`)).status).toBe(500);
    expect((await call(`${services.urls.accounts}/customers/cus_1`)).status).toBe(200);
    services.services.catalog.resetKnobs();
    expect((await call(`${catalog}/products?first=1`)).status).toBe(200);
  });

  it('hangs requests until the client gives up', async () => {
    services.services.catalog.setKnobs({ hang: true });
    const request = call(`${catalog}/products/prd_1`, { signal: AbortSignal.timeout(200) });
    await expect(request).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('answers hanging requests once hang is cleared', async () => {
    services.services.catalog.setKnobs({ hang: true });
    let settled = false;
    const request = call<Product>(`${catalog}/products/prd_1`).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    services.services.catalog.setKnobs({ hang: false });
    const response = await request;
    expect(response.status).toBe(200);
    expect(response.body.id).toBe('prd_1');
  });

  it('refuses invalid knobs with a message naming the field', () => {
    expect(() => services.services.catalog.setKnobs({ errorRate: 2 })).toThrow('errorRate must be a number from 0 to 1, got 2');
  });
});

describe('admin over HTTP', () => {
  it('sets knobs with POST /_admin/knobs and clears them with POST /_admin/reset', async () => {
    expect((await admin('knobs', { failNext: { count: 1, status: 429, retryAfterSeconds: 3 } })).status).toBe(204);
    const limited = await call(`${catalog}/products/prd_1`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await call(`${catalog}/products/prd_1`)).status).toBe(200);

    await admin('knobs', { errorRate: 1 });
    expect((await call(`${catalog}/products/prd_1`)).status).toBe(500);
    expect((await admin('reset', {})).status).toBe(204);
    expect((await call(`${catalog}/products/prd_1`)).status).toBe(200);
    expect((await admin('counters')).body).toEqual({ 'GET /products/:id': 1 });
  });

  it('refuses bad knobs with 400 and keeps the old ones', async () => {
    expect(await admin('knobs', { latencyMs: -5 })).toMatchObject({
      status: 400,
      body: { error: 'latencyMs must be a number >= 0, got -5' },
    });
    expect(await admin('knobs', { slow: true })).toMatchObject({ status: 400 });
    expect(await admin('knobs', { failNext: { count: 1 } })).toMatchObject({
      status: 400,
      body: { error: 'failNext.status must be an integer from 100 to 599, got undefined' },
    });
    expect((await admin('knobs')).body).toEqual({ latencyMs: 0, errorRate: 0, failNext: null, hang: false });
  });

  it('answers 404 for unknown admin routes and 405 for wrong methods', async () => {
    expect((await admin('nope')).status).toBe(404);
    expect((await admin('constructor')).status).toBe(404);
    expect((await call(`${catalog}/_admin/counters`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('counters and requests', () => {
  it('counts calls per route template, in process and over HTTP, never admin calls', async () => {
    await call(`${catalog}/products?first=2`);
    await call(`${catalog}/products?ids=prd_1,prd_2`);
    await call(`${catalog}/products/prd_9`);
    await call(`${catalog}/nowhere`); // matches no template: recorded, not counted
    await admin('requests');
    const expected = { 'GET /products': 2, 'GET /products/:id': 1 };
    expect(services.services.catalog.counters()).toEqual(expected);
    expect((await admin('counters')).body).toEqual(expected);
    expect(services.services.accounts.counters()).toEqual({});
  });

  it('records method, route, url, tenant and request id', async () => {
    await call(`${catalog}/products/prd_3?x=1`, { tenant: 'globex', headers: { 'x-request-id': 'req-42' } });
    await call(`${catalog}/products/prd_4`, { tenant: null });
    const [first, second] = services.services.catalog.requests();
    expect(first).toMatchObject({
      method: 'GET',
      route: '/products/:id',
      url: '/products/prd_3?x=1',
      tenantId: 'globex',
      requestId: 'req-42',
    } satisfies Partial<RecordedRequest>);
    expect(Math.abs((first?.at ?? 0) - Date.now())).toBeLessThan(5000);
    expect(second).toMatchObject({ tenantId: null, requestId: null });
    expect((await admin('requests')).body).toEqual(services.services.catalog.requests());
  });

  it('keeps only the last 1000 requests', async () => {
    const urls = Array.from({ length: 1005 }, (_, i) => `${catalog}/products/prd_${(i % 80) + 1}?n=${i}`);
    for (let i = 0; i < urls.length; i += 100) await Promise.all(urls.slice(i, i + 100).map((url) => call(url)));
    const recorded = services.services.catalog.requests();
    expect(recorded).toHaveLength(1000);
    // Batches run one after another, so the newest 1000 hold every request of batches 1..10.
    const kept = new Set(recorded.map((r) => Number(new URL(r.url, catalog).searchParams.get('n'))));
    for (let n = 100; n < 1005; n++) expect(kept.has(n)).toBe(true);
    expect(services.services.catalog.counters()).toEqual({ 'GET /products/:id': 1005 });
    services.services.catalog.resetCounters();
    expect(services.services.catalog.requests()).toEqual([]);
    expect(services.services.catalog.counters()).toEqual({});
  });
});

describe('resetAll', () => {
  it('resets knobs, counters and written data on every service', async () => {
    const accounts = services.urls.accounts;
    const original = (await call<Customer>(`${accounts}/customers/cus_1`)).body;
    await call(`${accounts}/customers/cus_1`, { method: 'PATCH', body: { name: 'Changed' } });
    services.services.accounts.setKnobs({ failNext: { count: 5, status: 503 } });

    services.resetAll();
    expect(services.services.accounts.counters()).toEqual({});
    const after = await call<Customer>(`${accounts}/customers/cus_1`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(original);
  });
});

describe('close', () => {
  it('closes promptly even with hanging requests and idle keep-alive sockets', async () => {
    const own = await startSampleServices();
    await call(`${own.urls.accounts}/customers/cus_1`); // leaves a keep-alive socket open
    own.services.orders.setKnobs({ hang: true });
    const hanging = call(`${own.urls.orders}/orders/ord_1`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(hanging).rejects.toThrow();
    await expect(call(`${own.urls.accounts}/customers/cus_1`)).rejects.toThrow();
  });

  it('refuses to start when a port is taken', async () => {
    const taken = Number(new URL(services.urls.catalog).port);
    await expect(startSampleServices({ ports: { catalog: taken } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
