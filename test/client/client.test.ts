import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, type Budget, type GatewayResult } from 'experience-gateway/client';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The client kit (imported as the package exports it) against the real gateway. The Free plan is
 * given a tight, short field limit on `products` (4 per 2 s), so a loop exceeds it within seconds.
 */
const PRODUCTS = 'query P { products(first: 1) { name } }';
const ORDER = 'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 1 }] }) { id } }';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.plans.free.limits.fieldLimits = {
        'Query.products': { limit: 4, windowSeconds: 2 },
        'Mutation.placeOrder': { limit: 1, windowSeconds: 60 },
      };
    },
  });
});
afterAll(async () => {
  await gateway.close();
});

/** Real fetch, with each exchange recorded: when it was sent, its status and Retry-After. */
function recordingFetch() {
  const log: { sentAt: number; answeredAt: number; status: number; retryAfter: string | null }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const sentAt = Date.now();
    const response = await fetch(input, init);
    log.push({ sentAt, answeredAt: Date.now(), status: response.status, retryAfter: response.headers.get('retry-after') });
    return response;
  };
  return { log, fetch: wrapped };
}

const statuses = (results: GatewayResult[]) => results.map((r) => r.status);

describe('the client kit against the real gateway', () => {
  it('a loop that exceeds the plan without pacing gets 429s; paced, it finishes with none', async () => {
    const unpaced = createGatewayClient({ url: `${gateway.url}/graphql`, apiKey: DEMO_TOKENS.acmeAdmin, pace: false, retry: { maxAttempts: 1 } });
    const burst = await Promise.all(Array.from({ length: 8 }, () => unpaced.request(PRODUCTS)));
    expect(statuses(burst).filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    // Let that burst leave the 2 s window.
    await new Promise((r) => setTimeout(r, 2200));

    const recorder = recordingFetch();
    const client = createGatewayClient({ url: `${gateway.url}/graphql`, apiKey: DEMO_TOKENS.acmeAdmin, fetch: recorder.fetch, retry: { maxAttempts: 1 } });
    const seen: Budget[] = [];
    client.subscribe((b) => seen.push(b));
    const results = await Promise.all(Array.from({ length: 12 }, () => client.request<{ products: { name: string }[] }>(PRODUCTS)));
    expect(statuses(results)).toEqual(Array(12).fill(200));
    expect(recorder.log.map((e) => e.status)).toEqual(Array(12).fill(200));
    expect(results.every((r) => r.data!.products.length === 1 && r.attempts === 1)).toBe(true);
    // The budget was exposed as it went: the field policy ran down to 0 and the client paused.
    expect(seen.some((b) => b.policies.some((p) => p.name === 'Query.products' && p.remaining === 0))).toBe(true);
    expect(seen.some((b) => b.pausedUntil !== null)).toBe(true);
    expect(client.budget()).toMatchObject({ queued: 0, inFlight: 0 });
    expect(client.budget().tightest).not.toBeNull();
  }, 40_000);

  it('sends high-priority requests first when the budget is short', async () => {
    await new Promise((r) => setTimeout(r, 2200));
    const recorder = recordingFetch();
    const client = createGatewayClient({ url: `${gateway.url}/graphql`, apiKey: DEMO_TOKENS.acmeAdmin, fetch: recorder.fetch, maxConcurrency: 1 });
    // Learn the budget, spending all 4: what is queued now waits for the window to move.
    for (let i = 0; i < 4; i++) await client.request(PRODUCTS);
    expect(client.budget().pausedUntil).not.toBeNull();
    const order: string[] = [];
    const low = Array.from({ length: 3 }, (_, i) => client.request(PRODUCTS, { priority: 'low' }).then(() => order.push(`low${i}`)));
    const high = client.request(PRODUCTS, { priority: 'high' }).then(() => order.push('high'));
    await Promise.all([...low, high]);
    expect(order[0]).toBe('high');
    expect(recorder.log.every((e) => e.status === 200)).toBe(true);
  }, 30_000);

  it('retries a 429 after its Retry-After, with jitter on top', async () => {
    await new Promise((r) => setTimeout(r, 2200));
    const recorder = recordingFetch();
    const client = createGatewayClient({ url: `${gateway.url}/graphql`, apiKey: DEMO_TOKENS.acmeAdmin, fetch: recorder.fetch, pace: false, maxConcurrency: 8 });
    const results = await Promise.all(Array.from({ length: 5 }, () => client.request(PRODUCTS)));
    expect(statuses(results)).toEqual(Array(5).fill(200));
    const retried = results.filter((r) => r.attempts === 2);
    expect(retried).toHaveLength(1);
    const refused = recorder.log.find((e) => e.status === 429)!;
    const retry = recorder.log.filter((e) => e.sentAt >= refused.answeredAt);
    expect(retry).toHaveLength(1);
    expect(retry[0]!.sentAt - refused.answeredAt).toBeGreaterThanOrEqual(Number(refused.retryAfter) * 1000);
  }, 30_000);

  it('never retries a mutation', async () => {
    const recorder = recordingFetch();
    const client = createGatewayClient({ url: `${gateway.url}/graphql`, apiKey: DEMO_TOKENS.acmeAdmin, fetch: recorder.fetch, pace: false });
    const first = await client.request(ORDER);
    expect(first.status).toBe(200);
    const second = await client.request(ORDER);
    expect(second.status).toBe(429);
    expect(second.attempts).toBe(1);
    expect(second.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect(recorder.log).toHaveLength(2);
  });
});
