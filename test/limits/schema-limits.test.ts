import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let gateway: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, patch: (config) => (config.limits = { storeTimeoutMs: 1000 }) });
});
afterAll(async () => {
  await gateway.close();
  await redis.stop();
});

const UPDATE = 'mutation($name: String) { updateCustomer(id: "cus_7", input: { name: $name }) { name } }';

describe('limits declared in the schema', () => {
  it('enforces @rateLimit per tenant and field: null and RATE_LIMITED past it, other tenants unaffected', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await gateway.gql(DEMO_TOKENS.globexSupport, UPDATE, { name: `Name ${i}` });
      expect(r.body.data.updateCustomer).toEqual({ name: `Name ${i}` });
    }
    const limited = await gateway.gql(DEMO_TOKENS.globexAdmin, UPDATE, { name: 'One too many' });
    expect(limited.body.data.updateCustomer).toBeNull();
    expect(limited.body.errors![0]!.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      dimension: 'field',
      policy: 'Mutation.updateCustomer',
      limit: 10,
      window: '60 seconds',
      documentation: '/docs/limits#fields',
    });
    expect(limited.body.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // Counted per tenant: acme still has its ten.
    const other = await gateway.gql(DEMO_TOKENS.acmeAdmin, UPDATE, { name: 'Acme name' });
    expect(other.body.data.updateCustomer).toEqual({ name: 'Acme name' });
  });

  it("puts each field's cost and limits in its description", async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexViewer,
      '{ __schema { mutationType { fields { name description } } queryType { fields { name description } } } }',
    );
    const mutations = Object.fromEntries(body.data.__schema.mutationType.fields.map((f: any) => [f.name, f.description]));
    expect(mutations.updateCustomer).toContain('Cost: 10 per call.');
    expect(mutations.updateCustomer).toContain('Rate limit: 10 calls per 60 s per tenant.');
    expect(mutations.placeOrder).toContain('Plan limits: Free (free): 20 per 60 s.');
    const queries = Object.fromEntries(body.data.__schema.queryType.fields.map((f: any) => [f.name, f.description]));
    expect(queries.customers).toContain('List size: as many items as `first` asks for, counted on `edges`, `nodes`.');
  });

  it('documents plans and field costs at /docs/limits, where 429s point', async () => {
    const response = await fetch(`${gateway.url}/docs/limits`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    for (const plan of ['free', 'pro', 'enterprise']) expect(html).toContain(`<section id="${plan}">`);
    expect(html).toContain('<tr><th>Requests per rolling minute</th><td>100</td></tr>');
    expect(html).toContain('<tr><th>Requests per calendar day</th><td>1,000</td></tr>');
    expect(html).toContain('Mutation.placeOrder: 20 per 60 s');
    expect(html).toContain('id="fields"');
    expect(html).toContain('<code>Mutation.updateCustomer</code></td><td>10</td>');
    // List sizes as sentences, never the directive's arguments as JSON.
    expect(html).toContain('<td>as many items as <code>first</code> asks for, counted on <code>edges</code>, <code>nodes</code>.</td>');
    expect(html).toMatch(
      /<code>FleetTenantUsage\.byClient<\/code><\/td><td>[^<]*<\/td><td>priced as 10 items \(its length is not known before it runs\)\.<\/td>/,
    );
    expect(html).not.toMatch(/slicingArguments|assumedSize|\{&#34;/);
  });
});
