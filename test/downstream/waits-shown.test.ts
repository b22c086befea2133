import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * A request whose downstream calls had to wait says so: for a slot of a busy service (its fair
 * queue) and for room in a service's own rate limit (its rate budget), as
 * `extensions.downstream.waitedMs` and `Server-Timing` entries, through the real gateway.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.downstream = {
        // One slot for catalog, room to wait behind it.
        catalog: { retry: { maxAttempts: 1 }, concurrency: { maxInFlight: 1, maxQueue: 8, adaptive: false } },
        // One call per 600 ms across the fleet.
        inventory: { retry: { maxAttempts: 1 }, rateLimit: { calls: 1, perMs: 600 } },
      };
      config.cache = { enabled: false };
    },
  });
});
afterAll(() => gateway.close());
beforeEach(() => gateway.sampleServices.resetAll());

describe('downstream waits shown to the client', () => {
  it('reports the wait for a slot of a busy service in extensions and Server-Timing', async () => {
    gateway.sampleServices.services.catalog.setKnobs({ latencyMs: 300 });
    const holder = gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }');
    await waitFor(() => gateway.sampleServices.services.catalog.requests().length === 1);
    const waited = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_2") { name } }');
    expect((await holder).body.errors).toBeUndefined();
    expect(waited.status).toBe(200);
    expect(waited.body.errors).toBeUndefined();
    const reported = (waited.body.extensions as { downstream: { waitedMs: { queue: number; rateLimit: number } } }).downstream.waitedMs;
    // It waited for the holder's call (300 ms of latency, most of it still to run when it queued).
    expect(reported.queue).toBeGreaterThanOrEqual(150);
    expect(reported.rateLimit).toBe(0);
    expect(waited.headers.get('server-timing')).toBe(`downstream-queue;dur=${reported.queue}`);
  });

  it("reports the wait for room in a service's rate limit", async () => {
    const first = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_1") { inventory { available } } }');
    expect(first.body.errors).toBeUndefined();
    const second = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_2") { inventory { available } } }');
    expect(second.status).toBe(200);
    expect(second.body.errors).toBeUndefined();
    const reported = (second.body.extensions as { downstream: { waitedMs: { queue: number; rateLimit: number } } }).downstream.waitedMs;
    // One call per 600 ms: the second waited for the first's call to leave the window.
    expect(reported.rateLimit).toBeGreaterThanOrEqual(200);
    expect(second.headers.get('server-timing')).toContain(`downstream-rate;dur=${reported.rateLimit}`);
  });

  it('says nothing when no call waited', async () => {
    const plain = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ customer(id: "cus_1") { id } }');
    expect(plain.body.errors).toBeUndefined();
    expect(plain.body.extensions).not.toHaveProperty('downstream');
    expect(plain.headers.get('server-timing')).toBeNull();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
