import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient } from 'experience-gateway/client';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * A real 503: the gateway cannot read a trusted document while Redis is down and answers
 * STORE_UNAVAILABLE with Retry-After: 5. The client kit waits that long and tries again, by when
 * Redis is back (and the document registered again: the test's Redis keeps no data).
 */
let redis: TestRedis;
let gateway: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await gateway?.close();
  await redis?.stop();
});

describe('the client kit and a 503', () => {
  it('retries a 503 after its Retry-After and succeeds once the store is back', async () => {
    const body = 'query Names { products(first: 2) { name } }';
    const register = async () =>
      !(
        await gateway.gql(DEMO_TOKENS.globexAdmin, 'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id } }', {
          d: [{ body }],
        })
      ).body.errors;
    expect(await register()).toBe(true);
    const log: { at: number; status: number; retryAfter: string | null }[] = [];
    const client = createGatewayClient({
      url: `${gateway.url}/graphql`,
      apiKey: DEMO_TOKENS.globexAdmin,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        log.push({ at: Date.now(), status: response.status, retryAfter: response.headers.get('retry-after') });
        return response;
      },
    });
    await redis.kill();
    const pending = client.request<{ products: unknown[] }>({ documentId: `sha256:${sha256Hex(body)}` }, { idempotent: true });
    // Redis comes back empty (no persistence in tests): the app's deploy registers its documents again.
    const back = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await redis.restart();
      return eventually(register, 3000, 100);
    })();
    expect(await back).toBe(true);
    const result = await pending;
    expect(result.status).toBe(200);
    expect(result.data!.products).toHaveLength(2);
    expect(result.attempts).toBe(2);
    expect(log.map((e) => [e.status, e.retryAfter])).toEqual([
      [503, '5'],
      [200, null],
    ]);
    expect(log[1]!.at - log[0]!.at).toBeGreaterThanOrEqual(5000);
  }, 30_000);
});
