import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** Trusted documents live in Redis for a fleet: registered on one instance, run on another. */
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  a = await startTestGateway({ env: { REDIS_URL: redis.url } });
  b = await startTestGateway({ env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

const byId = (gateway: TestGateway, body: string) =>
  fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ documentId: `sha256:${sha256Hex(body)}` }),
  });

describe('trusted documents across instances', () => {
  it('a document registered on one instance runs on another', async () => {
    const body = 'query Names { products(first: 2) { name } }';
    const registered = await a.gql(DEMO_TOKENS.globexAdmin, 'mutation($d: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $d) { id } }', {
      d: [{ body }],
    });
    expect(registered.body.data.registerTrustedDocuments).toEqual([{ id: `sha256:${sha256Hex(body)}` }]);
    const response = await byId(b, body);
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.products).toHaveLength(2);
    expect((await b.gql(DEMO_TOKENS.globexAdmin, '{ trustedDocuments { name } }')).body.data.trustedDocuments).toEqual([{ name: 'Names' }]);
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when a document must be read while Redis is down', async () => {
    await redis.kill();
    try {
      const response = await byId(b, 'query Other { viewer { clientId } }');
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(((await response.json()) as any).errors[0]).toEqual({
        message: 'Trusted documents cannot be read: their store cannot be reached. Retry in 5 s.',
        extensions: { code: 'STORE_UNAVAILABLE', store: 'trusted-documents' },
      });
    } finally {
      await redis.restart();
    }
  });
});
