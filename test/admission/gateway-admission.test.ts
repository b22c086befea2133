import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { postOnOwnConnection } from '../support/own-connection.js';

/**
 * Fair admission on a real gateway: a tenant sending many requests at once runs only its plan's
 * share of the instance and waits (or is refused, 429, over its own share) behind its own
 * requests, while another tenant's requests go straight on.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    patch: (config) => {
      config.plans.enterprise.admission = { weight: 16, maxInFlight: 2 };
      config.admission = { ...config.admission, maxQueuePerTenant: 4 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
});

const QUERY = '{ customers(first: 5) { nodes { name orders(first: 2) { id } } } }';

describe('fair admission on one instance', () => {
  it("runs a tenant's burst within its own share, refuses the rest with 429 over its own share, and lets another tenant straight in", async () => {
    const burst = Array.from({ length: 40 }, () => gateway.gql(DEMO_TOKENS.initechAdmin, QUERY));
    const other = await gateway.gql(DEMO_TOKENS.globexAdmin, QUERY);
    expect(other.status).toBe(200);
    expect(other.headers.get('server-timing')).toBeNull(); // it did not wait
    const answers = await Promise.all(burst);
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    // 2 running and 4 waiting at once: the other 34 are refused at once, none fails otherwise.
    expect(ok.length + refused.length).toBe(40);
    expect(ok.length).toBeGreaterThanOrEqual(6);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect(refused[0]!.body.errors![0]).toEqual({
      message:
        "Too many requests at once: the Enterprise plan runs at most 2 of a tenant's requests at a time on each gateway instance, and more are already waiting. Retry in 1 s, or send fewer requests in parallel.",
      extensions: { code: 'RATE_LIMITED', plan: 'enterprise', dimension: 'concurrency', policy: 'tenant-in-flight', limit: 2, retryAfterSeconds: 1 },
    });
    // Those that waited say so.
    expect(ok.some((r) => /^admission;dur=\d+/.test(r.headers.get('server-timing') ?? ''))).toBe(true);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`admission_refused_total\\{priority="normal",plan="enterprise",reason="tenant_queue_full"\\} ${refused.length}\\n`));
    expect(metrics).toMatch(/admission_in_flight 0\n/);
  });
});

describe('a client that leaves', () => {
  it('gives back its place in the queue at once, and its slot once the operation it left is done', async () => {
    gateway.sampleServices.services.catalog.setKnobs({ latencyMs: 1500 });
    try {
      // Each on a connection of its own, closed by the client while the request runs (as a client that gives up does).
      const sent = ['prd_1', 'prd_2', 'prd_3'].map((id) =>
        postOnOwnConnection(gateway.url, DEMO_TOKENS.initechAdmin, { body: JSON.stringify({ query: `{ product(id: "${id}") { name } }` }) }),
      );
      expect(await eventually(() => gateway.sampleServices.services.catalog.requests().length >= 2)).toBe(true);
      for (const request of sent) request.destroy();
      const inFlight = async () => Number(/admission_in_flight (\d+)\n/.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1]);
      // The two still run (strict: their work still takes the instance); the third never will.
      expect(await inFlight()).toBe(2);
      // Once catalog has answered, nothing of initech's is held any more, though no response was written.
      expect(await eventually(async () => (await inFlight()) === 0)).toBe(true);
      expect(gateway.sampleServices.services.catalog.requests().length).toBe(2);
      // Run and charged, so metered too (as an error: the client closed the request, 499 in nginx's terms).
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/graphql_requests_total\{plan="enterprise",status="error",root_field="Query.product",tenant="all"\} 2\n/);
      const next = await gateway.gql(DEMO_TOKENS.initechAdmin, '{ viewer { clientId } }');
      expect(next.status).toBe(200);
      // Admitted at once: it did not wait for a slot (it would say so here).
      expect(next.headers.get('server-timing')).toBeNull();
    } finally {
      gateway.sampleServices.resetAll();
    }
  });
});
