import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Shadow limits on real gateways, each on its own real Redis, with the same deterministic traffic:
 *
 * - `plain`: the demo config (acme on Free);
 * - `shadowed`: the same, with a halved Free plan in shadow for every Free tenant (`plans.free.shadow`);
 * - `leased`: `shadowed` with leases on, as shipped (a shadowed tenant's checks bypass them);
 * - `twin`: acme moved to that halved plan, enforced.
 *
 * Every request goes to `plain` and `shadowed` at the same moment: their responses (status, body,
 * headers) must be byte-identical but for what varies per request and instant, masked and named in
 * `masked` (the field cache is off, see `beforeAll`). The would-be refusals `shadowed` counts (per key and policy: `fleetUsage.shadowLimits`,
 * and per policy in /metrics) must equal the refusals `twin` answers (429 by policy, 400
 * COST_LIMIT_EXCEEDED as `max-cost`).
 *
 * All of it runs within one rolling minute (64 sequential requests); the costs are exact (estimate
 * = actual: no refund), so the twin's decisions do not depend on when a settle lands.
 *
 * Leases are off in `plain` and `shadowed`: a request served from a lease reports `used` with the
 * lease's reserved tokens, so a leased gateway's `X-RateLimit-Remaining` depends on when leases were
 * granted, and a shadowed tenant is never leased (SHADOW.md). Off in the twin too, whose single
 * instance is then the exact reference; `leased` shows the shadow's counts do not depend on them.
 */

const HALF_FREE = {
  displayName: 'Free (halved)',
  limits: {
    requestsPerMinute: 50,
    requestsPerDay: 500,
    requestsPerMonth: 10000,
    costPerMinute: 300,
    maxOperationCost: 120,
    responseBytesPerHour: 25000000,
    fieldLimits: { 'Mutation.placeOrder': { limit: 10, windowSeconds: 60 }, 'Query.products': { limit: 12, windowSeconds: 60 } },
  },
  admission: { weight: 1, maxInFlight: 8 },
};

const STOREFRONT_ORIGIN = 'http://localhost:5173';
const VIEWER = '{ viewer { clientId } }';
/** Estimated 21 (1 + 10 x inventory 2) and actual 21: the catalog has more than 10 products. */
const PRODUCTS = '{ products(first: 10) { id inventory { available } } }';
/** Estimated 125: under Free's maximum (500), over the halved plan's (120). */
const HEAVY = '{ products(first: 62) { id inventory { available } } }';

interface Step {
  token: string;
  clientId: string;
  query: string;
}

/** 64 requests: every 16th heavy, every 4th a product list, the rest the viewer; every 3rd from the storefront key. */
const TRAFFIC: Step[] = Array.from({ length: 64 }, (_, i) => {
  const storefront = i % 3 === 2;
  const query = i % 16 === 0 ? HEAVY : i % 4 === 1 ? PRODUCTS : VIEWER;
  return storefront
    ? { token: DEMO_TOKENS.acmePublishable, clientId: 'acme-storefront', query }
    : { token: DEMO_TOKENS.acmeAdmin, clientId: 'acme-admin', query };
});

let redis: TestRedis[] = [];
let plain: TestGateway;
let shadowed: TestGateway;
let twin: TestGateway;
let leased: TestGateway;

/** A reply within 1 s is Redis's: on a loaded machine 50 ms (the default) could open the breaker, and the local fallback evaluates no shadow. */
const limitsConfig = (leases: boolean) => ({ leases: { enabled: leases }, overridesPollMs: 200, storeTimeoutMs: 1000 });

beforeAll(async () => {
  redis = await Promise.all([startTestRedis(), startTestRedis(), startTestRedis(), startTestRedis()]);
  // The field cache is off: whether a cache read answers within its timeout on this shared machine
  // (`extensions.cache.degraded`) has nothing to do with limits, and would differ between runs.
  const start = (url: string, patch: (config: Record<string, any>) => void) =>
    startTestGateway({
      env: { REDIS_URL: url },
      patch: (config) => {
        config.cache = { ...config.cache, enabled: false };
        patch(config);
      },
    });
  [plain, shadowed, twin, leased] = await Promise.all([
    start(redis[0]!.url, (config) => {
      config.plans['free-half'] = HALF_FREE;
      config.limits = { ...config.limits, ...limitsConfig(false) };
    }),
    start(redis[1]!.url, (config) => {
      config.plans['free-half'] = HALF_FREE;
      config.plans.free.shadow = { plan: 'free-half' };
      config.limits = { ...config.limits, ...limitsConfig(false) };
    }),
    start(redis[2]!.url, (config) => {
      config.plans['free-half'] = HALF_FREE;
      config.tenants.acme.plan = 'free-half';
      config.limits = { ...config.limits, ...limitsConfig(false) };
    }),
    start(redis[3]!.url, (config) => {
      config.plans['free-half'] = HALF_FREE;
      config.plans.free.shadow = { plan: 'free-half' };
      config.limits = { ...config.limits, ...limitsConfig(true) };
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.close(), shadowed?.close(), twin?.close(), leased?.close()]);
  await Promise.all(redis.map((r) => r.stop()));
});

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

async function send(gateway: TestGateway, step: Step): Promise<Answer> {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${step.token}`,
      ...(step.clientId === 'acme-storefront' ? { origin: STOREFRONT_ORIGIN } : {}),
    },
    body: JSON.stringify({ query: step.query }),
  });
  return { status: response.status, headers: [...response.headers.entries()], body: await response.text() };
}

/**
 * What varies per request or instant, and only that: the request id, the Date header, the reset
 * instants (`X-RateLimit-Reset` in Unix seconds, `t=` seconds to reset in `RateLimit`, ISO
 * `resetAt` in the body's cost budget) and `Server-Timing` durations.
 */
function masked(answer: Answer): Answer {
  const headers = answer.headers.flatMap(([name, value]): [string, string][] => {
    if (name === 'x-request-id' || name === 'date' || name === 'x-ratelimit-reset') return [[name, '<varies>']];
    if (name === 'ratelimit') return [[name, value.replace(/;t=\d+/g, ';t=<varies>')]];
    if (name === 'server-timing') {
      // `admission;dur=` says the request waited for a slot of the instance: the three gateways
      // share this process's event loop, whose lag shrinks their admission limits at random moments.
      const entries = value.split(/,\s*/).filter((entry) => !entry.startsWith('admission;'));
      return entries.length > 0 ? [[name, entries.join(', ').replace(/dur=[\d.]+/g, 'dur=<varies>')]] : [];
    }
    return [[name, value]];
  });
  const body = answer.body.replace(/"resetAt":"[^"]+"/g, '"resetAt":"<varies>"');
  return { status: answer.status, headers, body };
}

/** `<key>|<policy>` -> refusals. */
type Counts = Record<string, number>;
const add = (counts: Counts, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** A refusal as the twin answers it: its policy (429), or `max-cost` (400 COST_LIMIT_EXCEEDED); null when served. */
function refusalOf(answer: Answer): string | null {
  const body = JSON.parse(answer.body) as { errors?: { extensions?: { code?: string; policy?: string } }[] };
  const error = body.errors?.find((e) => e.extensions?.code === 'RATE_LIMITED' || e.extensions?.code === 'COST_LIMIT_EXCEEDED');
  if (!error) return null;
  return error.extensions!.code === 'COST_LIMIT_EXCEEDED' ? 'max-cost' : error.extensions!.policy!;
}

const SHADOW_QUERY = `{ fleetUsage { shadowLimits { tenantId plan shadowPlan source id wouldRefuse firstRefusedAt lastRefusedAt
  limits { name value } refusals { clientId policy count firstAt lastAt } } } }`;

describe('a halved Free plan in shadow', () => {
  const twinRefusals: Counts = {};
  let started = 0;

  it('changes no response nor header: byte-identical to the same gateway without it (masked: request id, Date, reset instants, Server-Timing durations)', async () => {
    started = Date.now();
    let served = 0;
    for (const [index, step] of TRAFFIC.entries()) {
      const [a, b, t] = await Promise.all([send(plain, step), send(shadowed, step), send(twin, step), send(leased, step)]);
      expect(masked(b), `request ${index}: ${step.query}`).toEqual(masked(a));
      if (a.status === 200 && refusalOf(a) === null) served++;
      const refused = refusalOf(t);
      if (refused) add(twinRefusals, `${step.clientId}|${refused}`);
    }
    // The enforced Free plan served everything; the halved plan, enforced, would not have.
    expect(served).toBe(TRAFFIC.length);
    expect(Object.keys(twinRefusals).length).toBeGreaterThan(2);
  }, 120_000);

  it.each([
    ['leases off', () => shadowed],
    ['leases on', () => leased],
  ])("counts exactly the twin's refusals, per key and policy, with the first and latest moment (%s)", async (_name, gateway) => {
    const answer = await gateway().gql(DEMO_TOKENS.platformAdmin, SHADOW_QUERY);
    expect(answer.body.errors).toBeUndefined();
    const rows = answer.body.data.fleetUsage.shadowLimits as any[];
    // Every Free tenant is covered by the plan's shadow; only acme sent traffic.
    const acme = rows.find((r) => r.tenantId === 'acme');
    expect(acme).toMatchObject({ plan: 'free', shadowPlan: 'free-half', source: 'plan' });
    expect(acme.limits).toContainEqual({ name: 'requestsPerMinute', value: 50 });
    const counted: Counts = {};
    for (const r of acme.refusals) counted[`${r.clientId}|${r.policy}`] = r.count;
    expect(counted).toEqual(twinRefusals);
    expect(acme.wouldRefuse).toBe(Object.values(twinRefusals).reduce((a, b) => a + b, 0));
    const first = Date.parse(acme.firstRefusedAt);
    const last = Date.parse(acme.lastRefusedAt);
    expect(first).toBeGreaterThanOrEqual(started - 1000);
    expect(last).toBeGreaterThanOrEqual(first);
    expect(last).toBeLessThanOrEqual(Date.now() + 1000);
    for (const r of acme.refusals) expect(Date.parse(r.lastAt)).toBeGreaterThanOrEqual(Date.parse(r.firstAt));
  });

  it('is announced in /docs/limits: the plan says what is in shadow, and how a change is rolled out', async () => {
    const html = await (await fetch(`${shadowed.url}/docs/limits`)).text();
    const free = html.slice(html.indexOf('<section id="free">'), html.indexOf('</section>', html.indexOf('<section id="free">')));
    expect(free).toContain(
      '<tr><th>In shadow (evaluated, not enforced: <a href="#changes">how limits change</a>)</th><td>the plan <a href="#free-half"><code>free-half</code></a></td></tr>',
    );
    expect(html).toContain('<h2 id="changes">How a limit change is rolled out</h2>');
    for (const step of ['Shadow.', 'Look.', 'Replay.', 'Promote.']) expect(html).toContain(`<li><strong>${step}</strong>`);
    const plainHtml = await (await fetch(`${plain.url}/docs/limits`)).text();
    expect(plainHtml).not.toContain('In shadow (evaluated');
  });

  it('reports them per policy in /metrics', async () => {
    const text = await (await fetch(`${shadowed.url}/metrics`)).text();
    const byPolicy: Counts = {};
    for (const [key, count] of Object.entries(twinRefusals)) byPolicy[key.split('|')[1]!] = (byPolicy[key.split('|')[1]!] ?? 0) + count;
    for (const [policy, count] of Object.entries(byPolicy)) {
      const line = text
        .split('\n')
        .find((l) => l.startsWith('limit_shadow_refusals_total{') && l.includes(`policy="${policy}"`) && l.includes('shadow_plan="free-half"'));
      expect(line, policy).toBeDefined();
      expect(Number(line!.split(' ').at(-1))).toBe(count);
    }
  });
});
