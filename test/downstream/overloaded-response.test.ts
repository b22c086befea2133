import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';

/** What a client sees of DOWNSTREAM_OVERLOADED, through the real gateway, and what /metrics says. */

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      // One slot for catalog and no queue: a second concurrent call is refused at once.
      config.downstream = { catalog: { retry: { maxAttempts: 1 }, concurrency: { maxInFlight: 1, maxQueue: 0, adaptive: false } } };
      // Every request must reach catalog, not the field cache.
      config.cache = { enabled: false };
    },
  });
});
afterAll(() => gateway.close());
beforeEach(() => gateway.sampleServices.resetAll());

/** Runs `query` while another request holds catalog's only slot. */
async function whileCatalogIsBusy(query: string): Promise<GqlResponse> {
  gateway.sampleServices.services.catalog.setKnobs({ latencyMs: 400 });
  const holder = gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }');
  await waitFor(() => gateway.sampleServices.services.catalog.requests().length === 1);
  const response = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
  const held = await holder;
  expect(held.body.errors).toBeUndefined();
  return response;
}

describe('DOWNSTREAM_OVERLOADED over HTTP', () => {
  it('answers 503 with Retry-After when nothing could be served', async () => {
    const { status, headers, body } = await whileCatalogIsBusy('{ product(id: "prd_2") { name } }');
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('1');
    expect(body.data).toEqual({ product: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({
      path: ['product'],
      message: 'catalog service is overloaded: 0 calls are already waiting for one of its 1 slots. Retry in 1 s.',
      extensions: { code: 'DOWNSTREAM_OVERLOADED', service: 'catalog', reason: 'queue_full', retryAfterSeconds: 1 },
    });
  });

  it("keeps 200 for a partial answer, with Retry-After, the other service's fields served", async () => {
    const { status, headers, body } = await whileCatalogIsBusy('{ product(id: "prd_2") { name } customer(id: "cus_1") { id } }');
    expect(status).toBe(200);
    expect(headers.get('retry-after')).toBe('1');
    expect(body.data).toEqual({ product: null, customer: { id: 'cus_1' } });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'DOWNSTREAM_OVERLOADED', reason: 'queue_full' });
  });

  it('counts sheds and waits in /metrics, with the queue state', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    // The two refusals above (globex's, on Pro), and the slots acme's (Free) requests held: the
    // call context carries the plan and class the request was admitted with.
    expect(text).toContain('downstream_shed_total{service="catalog",priority="normal",plan="pro",reason="queue_full"} 2');
    expect(text).toMatch(/downstream_queue_wait_seconds_count\{service="catalog",priority="normal",plan="free"\} [1-9]/);
    expect(text).toContain('downstream_concurrency_limit{service="catalog"} 1');
    expect(text).toContain('downstream_in_flight{service="catalog"} 0');
    expect(text).toContain('downstream_queue_depth{service="catalog",priority="critical"} 0');
    expect(text).toContain('downstream_concurrency_limit{service="accounts"} 64');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
