import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Batch, Customer, Page } from '../../src/sample-services/records.js';
import { startSampleServices, type SampleServices } from '../../src/sample-services/start.js';
import { call } from './call.js';

let services: SampleServices;
let accounts: string;

beforeAll(async () => {
  services = await startSampleServices();
  accounts = services.urls.accounts;
});
afterAll(() => services.close());
beforeEach(() => services.resetAll());

describe('accounts: tenancy', () => {
  it('answers the same customer for the same tenant, and a different one for another tenant', async () => {
    const first = await call<Customer>(`${accounts}/customers/cus_7`, { tenant: 'acme' });
    const again = await call<Customer>(`${accounts}/customers/cus_7`, { tenant: 'acme' });
    const other = await call<Customer>(`${accounts}/customers/cus_7`, { tenant: 'globex' });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(again.body).toEqual(first.body);
    expect(first.body).toMatchObject({ id: 'cus_7', tier: expect.stringMatching(/^(bronze|silver|gold)$/) });
    expect(other.body.id).toBe('cus_7');
    expect(other.body.name).not.toBe(first.body.name);
    expect(other.body.email).not.toBe(first.body.email);
  });

  it('refuses a request without x-tenant-id', async () => {
    const response = await call(`${accounts}/customers/cus_1`, { tenant: null });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'missing x-tenant-id header' });
    const blank = await call(`${accounts}/customers/cus_1`, { tenant: '   ' });
    expect(blank.status).toBe(400);
  });
});

describe('accounts: batch', () => {
  it('answers in request order, with null for unknown ids and duplicates in place', async () => {
    const { status, body } = await call<Batch<Customer>>(`${accounts}/customers?ids=cus_3,cus_999,cus_1,cus_3`);
    expect(status).toBe(200);
    expect(body.items.map((c) => c?.id ?? null)).toEqual(['cus_3', null, 'cus_1', 'cus_3']);
    expect(body.items[3]).toEqual(body.items[0]);
  });

  it('accepts 200 ids and refuses 201', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `cus_${(i % 60) + 1}`).join(',');
    const ok = await call<Batch<Customer>>(`${accounts}/customers?ids=${ids(200)}`);
    expect(ok.body.items).toHaveLength(200);
    const tooMany = await call(`${accounts}/customers?ids=${ids(201)}`);
    expect(tooMany).toMatchObject({ status: 400, body: { error: 'ids must list at most 200 ids, got 201' } });
  });
});

describe('accounts: pagination', () => {
  it('walks all 60 customers with cursors, without duplicates or gaps', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const query: string = after === null ? 'first=25' : `first=25&after=${encodeURIComponent(after)}`;
      const { status, body }: { status: number; body: Page<Customer> } = await call<Page<Customer>>(`${accounts}/customers?${query}`);
      expect(status).toBe(200);
      expect(body.totalCount).toBe(60);
      expect(body.cursors).toHaveLength(body.items.length);
      expect(body.pageInfo.endCursor).toBe(body.cursors.at(-1));
      seen.push(...body.items.map((c) => c.id));
      pages++;
      if (!body.pageInfo.hasNextPage) break;
      after = body.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `cus_${i + 1}`));
  });

  it('resumes right after any item cursor', async () => {
    const page = await call<Page<Customer>>(`${accounts}/customers?first=5`);
    const next = await call<Page<Customer>>(`${accounts}/customers?first=2&after=${page.body.cursors[2]}`);
    expect(next.body.items.map((c) => c.id)).toEqual(['cus_4', 'cus_5']);
  });

  it('defaults first to 20', async () => {
    const { body } = await call<Page<Customer>>(`${accounts}/customers`);
    expect(body.items).toHaveLength(20);
    expect(body.pageInfo.hasNextPage).toBe(true);
  });

  it.each([
    ['first=101', 'first must be an integer from 1 to 100, got "101"'],
    ['first=0', 'first must be an integer from 1 to 100, got "0"'],
    ['first=2.5', 'first must be an integer from 1 to 100, got "2.5"'],
    ['first=ten', 'first must be an integer from 1 to 100, got "ten"'],
    ['after=not-a-cursor', 'after is not a valid cursor: not-a-cursor'],
  ])('refuses %s', async (query, error) => {
    expect(await call(`${accounts}/customers?${query}`)).toMatchObject({ status: 400, body: { error } });
  });
});

describe('accounts: single customer and PATCH', () => {
  it('answers 404 for an unknown customer', async () => {
    expect(await call(`${accounts}/customers/cus_61`)).toMatchObject({
      status: 404,
      body: { error: 'customer not found: cus_61' },
    });
  });

  it('updates a customer for that tenant only, until reset', async () => {
    const before = await call<Customer>(`${accounts}/customers/cus_2`);
    const patched = await call<Customer>(`${accounts}/customers/cus_2`, {
      method: 'PATCH',
      body: { name: 'Renamed Person', tier: 'gold' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...before.body, name: 'Renamed Person', tier: 'gold' });
    expect((await call<Customer>(`${accounts}/customers/cus_2`)).body.name).toBe('Renamed Person');
    const listed = await call<Page<Customer>>(`${accounts}/customers?first=3`);
    expect(listed.body.items[1]?.name).toBe('Renamed Person');
    expect((await call<Customer>(`${accounts}/customers/cus_2`, { tenant: 'globex' })).body.name).not.toBe('Renamed Person');

    services.resetAll();
    expect((await call<Customer>(`${accounts}/customers/cus_2`)).body).toEqual(before.body);
  });

  it.each([
    [{ email: 'not-an-email' }, 'email must be an email address, got "not-an-email"'],
    [{ tier: 'platinum' }, 'tier must be one of bronze, silver, gold, got "platinum"'],
    [{ name: '' }, 'name must be a non-empty string of at most 200 characters, got ""'],
    [{ nickname: 'x' }, 'unknown field: nickname (allowed: name, email, tier)'],
    [[1, 2], 'request body must be a JSON object, got [1,2]'],
  ])('refuses PATCH %j', async (body, error) => {
    const response = await call(`${accounts}/customers/cus_2`, { method: 'PATCH', body });
    expect(response).toMatchObject({ status: 400, body: { error } });
  });

  it('refuses PATCH with malformed JSON and PATCH of an unknown customer', async () => {
    const malformed = await call<{ error: string }>(`${accounts}/customers/cus_2`, { method: 'PATCH', body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/^request body is not valid JSON/);
    const unknown = await call(`${accounts}/customers/cus_0`, { method: 'PATCH', body: { name: 'X' } });
    expect(unknown.status).toBe(404);
  });
});

describe('accounts: routing', () => {
  it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    expect((await call(`${accounts}/products`)).status).toBe(404);
    const wrong = await call(`${accounts}/customers/cus_1`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, PATCH');
  });
});
