import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, Page, Product } from '../../src/sample-services/records.js';
import { startSampleServices, type SampleServices } from '../../src/sample-services/start.js';
import { call } from './call.js';

let services: SampleServices;
let catalog: string;

beforeAll(async () => {
  services = await startSampleServices();
  catalog = services.urls.catalog;
});
afterAll(() => services.close());

async function allProducts(tenant = 'acme'): Promise<Product[]> {
  const { body } = await call<Page<Product>>(`${catalog}/products?first=100`, { tenant });
  return body.items;
}

describe('catalog', () => {
  it('lists 80 products with integer prices in USD', async () => {
    const products = await allProducts();
    expect(products).toHaveLength(80);
    for (const product of products) {
      expect(Number.isInteger(product.priceCents)).toBe(true);
      expect(product.currency).toBe('USD');
      expect(product.tags.length).toBeGreaterThan(0);
    }
  });

  it('prices the same product differently for different tenants', async () => {
    const acme = await allProducts('acme');
    const globex = await allProducts('globex');
    expect(acme.map((p) => p.id)).toEqual(globex.map((p) => p.id));
    expect(acme.map((p) => `${p.name} ${p.priceCents}`)).not.toEqual(globex.map((p) => `${p.name} ${p.priceCents}`));
  });

  it('searches name, description and category case-insensitively', async () => {
    const products = await allProducts();
    const target = products[0] as Product;
    const word = target.name.split(' ').at(-1) as string; // the noun, e.g. "Kettle"
    const { status, body } = await call<Page<Product>>(`${catalog}/products?search=${encodeURIComponent(word.toUpperCase())}&first=100`);
    expect(status).toBe(200);
    const expected = products.filter((p) => [p.name, p.description, p.category].some((text) => text.toLowerCase().includes(word.toLowerCase())));
    expect(body.items.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    expect(body.items.map((p) => p.id)).toContain(target.id);
    expect(body.totalCount).toBe(expected.length);
    expect(body.totalCount).toBeLessThan(80);

    const byCategory = await call<Page<Product>>(`${catalog}/products?search=${target.category.toLowerCase()}&first=100`);
    expect(byCategory.body.items.map((p) => p.id)).toContain(target.id);
  });

  it('pages through search results with the search kept', async () => {
    const all = await call<Page<Product>>(`${catalog}/products?search=a&first=100`);
    const firstPage = await call<Page<Product>>(`${catalog}/products?search=a&first=3`);
    const secondPage = await call<Page<Product>>(`${catalog}/products?search=a&first=3&after=${firstPage.body.pageInfo.endCursor}`);
    expect([...firstPage.body.items, ...secondPage.body.items].map((p) => p.id)).toEqual(all.body.items.slice(0, 6).map((p) => p.id));
  });

  it('answers an empty page for a search that matches nothing', async () => {
    const { body } = await call<Page<Product>>(`${catalog}/products?search=zzzz-no-such-thing`);
    expect(body).toEqual({ items: [], cursors: [], pageInfo: { endCursor: null, hasNextPage: false }, totalCount: 0 });
  });

  it('answers batches in order with nulls, and single products with 404 when absent', async () => {
    const { body } = await call<Batch<Product>>(`${catalog}/products?ids=prd_80,prd_81,prd_80`);
    expect(body.items.map((p) => p?.id ?? null)).toEqual(['prd_80', null, 'prd_80']);
    expect((await call<Product>(`${catalog}/products/prd_80`)).body).toEqual(body.items[0]);
    expect(await call(`${catalog}/products/prd_81`)).toMatchObject({ status: 404, body: { error: 'product not found: prd_81' } });
    expect(await call(`${catalog}/products?ids=`)).toMatchObject({ status: 400, body: { error: 'ids must list at least one id' } });
  });
});
