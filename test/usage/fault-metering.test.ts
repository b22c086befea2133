import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('failures that count against an SLA', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.plans.pro.sla = { availability: 99.9, latencyP95Ms: 300 };
        c.usage = { flushIntervalMs: 100 };
        c.downstream = { catalog: { retry: { maxAttempts: 1 } } };
      },
    });
  });
  afterAll(() => gateway?.close());

  it('meters a downstream failure as a fault, a client mistake as an error only', async () => {
    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    // A client mistake: the query does not validate.
    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { nope } }')).body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // The gateway's side failed: the catalog service answers 500.
    gateway.sampleServices.services.catalog.setKnobs({ errorRate: 1 });
    const failed = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ products(first: 1) { id } }');
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('DOWNSTREAM_UNAVAILABLE');
    gateway.sampleServices.services.catalog.resetKnobs();

    const q = '{ usage { summary(granularity: DAY) { requests errors faults } sla { target { availability } total { counted failures availability } } } }';
    const read = async () => (await gateway.gql(DEMO_TOKENS.globexAdmin, q)).body.data.usage;
    // Three requests before this usage query (which is metered after it answers).
    expect(await eventually(async () => (await read()).summary.requests >= 3)).toBe(true);
    const { summary, sla } = await read();
    expect(summary.errors).toBe(2);
    expect(summary.faults).toBe(1);
    expect(sla.target.availability).toBe(99.9);
    expect(sla.total.failures).toBe(1);
    expect(sla.total.counted).toBe(summary.requests);
  });

  it('has no SLA for a plan without targets', async () => {
    const res = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ usage { sla { month } } }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ usage: { sla: null } });
  });

  it('refuses a malformed month', async () => {
    const res = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ usage { sla(month: "2026-13") { month } } }');
    expect(res.body.errors?.[0]).toMatchObject({ message: 'month must look like 2026-11: "2026-13"', extensions: { code: 'BAD_USER_INPUT' } });
  });
});
