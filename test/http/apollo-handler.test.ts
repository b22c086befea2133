import { expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { searchOf } from '../../src/http/apollo-handler.js';
import { startTestGateway } from '../support/gateway.js';

it("reads a request target's query string as Apollo would from URL: the same parameters, empty when there are none", () => {
  const base = 'http://localhost/';
  for (const target of ['/graphql', '/graphql?', '/graphql#x?y']) expect(searchOf(target), target).toBe('');
  for (const target of ['/graphql?query=%7B%20viewer%20%7B%20clientId%20%7D%20%7D', '/graphql?a=1&b=2#frag', '/graphql?q=caf\u00e9&q=2']) {
    const ours = [...new URLSearchParams(searchOf(target))];
    expect(ours.length, target).toBeGreaterThan(0);
    expect(ours, target).toEqual([...new URLSearchParams(new URL(target, base).search)]);
  }
});

it('answers GET /graphql?query=... and POST alike through the handler', async () => {
  const gateway = await startTestGateway();
  try {
    const query = '{ viewer { clientId } }';
    const get = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${DEMO_TOKENS.globexAdmin}`, 'apollo-require-preflight': '1' },
    });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { data: unknown }).data).toEqual({ viewer: { clientId: 'globex-admin' } });
    const post = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(post.status).toBe(200);
    expect(post.body.data).toEqual({ viewer: { clientId: 'globex-admin' } });
  } finally {
    await gateway.close();
  }
});
