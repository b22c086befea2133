import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

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
