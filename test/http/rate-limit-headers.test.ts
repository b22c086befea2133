import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Every authenticated response says which rate-limit policy applies, or that none does: also the
 * answers the limits plugin does not decide (400 COST_LIMIT_EXCEEDED, parse errors, a refused
 * body), the failed-authentication 401/429, /usage.csv, and service tokens and platform admins.
 */
let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ patch: (config) => (config.limits = { usageQueriesPerMinute: 3, authFailuresPerIpPerMinute: 3 }) });
});
afterAll(async () => {
  await gateway.close();
});

const EXPENSIVE = '{ orders(first: 50) { nodes { items { product { inventory { available } } } } } }';
const policyOf = (headers: Headers) => headers.get('ratelimit-policy');
const remainingOf = (headers: Headers) => Number(headers.get('x-ratelimit-remaining'));

async function csv(token: string) {
  const response = await fetch(`${gateway.url}/usage.csv?granularity=minute`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('rate-limit headers on every authenticated response', () => {
  it('on 400 COST_LIMIT_EXCEEDED (nothing consumed), a parse error and a malformed body (each counted as one request): the plan policies', async () => {
    const before = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
    expect(before.status).toBe(200);
    const left = remainingOf(before.headers);
    expect(policyOf(before.headers)).toContain('"minute";q=100;w=60');

    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, EXPENSIVE);
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]!.extensions!.code).toBe('COST_LIMIT_EXCEEDED');
    expect(policyOf(refused.headers)).toBe(policyOf(before.headers));
    expect(refused.headers.get('x-ratelimit-limit')).toBe('100');
    expect(remainingOf(refused.headers)).toBe(left);
    expect(refused.headers.get('ratelimit')).toMatch(/^"minute";r=\d+;t=\d+/);

    const parse = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { ');
    expect(parse.status).toBe(400);
    expect(parse.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(policyOf(parse.headers)).toBe(policyOf(before.headers));
    // Every request of a key counts, whatever its body (issue 20): this one as one request.
    expect(remainingOf(parse.headers)).toBe(left - 1);

    const malformed = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}`, 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    expect(policyOf(malformed.headers)).toBe(policyOf(before.headers));
    expect(remainingOf(malformed.headers)).toBe(left - 2);

    // The next real request is the third one counted since `before` (the refused one was not).
    expect(remainingOf((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).headers)).toBe(left - 3);
  });

  it('on /usage.csv: the usage-query cap, shared with the usage query, enforced with 429 and Retry-After', async () => {
    const first = await csv(DEMO_TOKENS.globexAdmin);
    expect(first.status).toBe(200);
    expect(policyOf(first.headers)).toBe('"usage-minute";q=3;w=60');
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(remainingOf(first.headers)).toBe(2);

    const usage = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ usage { limits { plan { id } } } }');
    expect(usage.status).toBe(200);
    expect(policyOf(usage.headers)).toBe('"usage-minute";q=3;w=60');
    expect(remainingOf(usage.headers)).toBe(1);

    expect((await csv(DEMO_TOKENS.globexAdmin)).status).toBe(200);
    const over = await csv(DEMO_TOKENS.globexAdmin);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.text).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', policy: 'usage-minute', limit: 3 });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(policyOf(over.headers)).toBe('"usage-minute";q=3;w=60');
    expect(remainingOf(over.headers)).toBe(0);
  });

  it('for service tokens and platform admins: X-RateLimit-Exempt says no policy applies, and why', async () => {
    const service = await gateway.gql(DEMO_TOKENS.service, '{ viewer { clientId } }');
    expect(service.status).toBe(200);
    expect(service.headers.get('x-ratelimit-exempt')).toBe('service-token');
    expect(policyOf(service.headers)).toBeNull();
    expect(service.headers.get('x-ratelimit-limit')).toBeNull();
    // Service tokens bypass the usage-query cap too: more exports than the cap allows.
    for (let i = 0; i < 4; i++) {
      const exported = await csv(DEMO_TOKENS.service);
      expect(exported.status).toBe(200);
      expect(exported.headers.get('x-ratelimit-exempt')).toBe('service-token');
    }

    const admin = await gateway.gql(DEMO_TOKENS.platformAdmin, '{ fleetUsage { plans { plan } } }');
    expect(admin.status).toBe(200);
    expect(admin.headers.get('x-ratelimit-exempt')).toBe('platform-admin');
    expect(policyOf(admin.headers)).toBeNull();
    const forbidden = await csv(DEMO_TOKENS.platformAdmin);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('x-ratelimit-exempt')).toBe('platform-admin');

    // A tenant key never says exempt.
    expect((await gateway.gql(DEMO_TOKENS.initechAdmin, '{ viewer { clientId } }')).headers.get('x-ratelimit-exempt')).toBeNull();
  });

  it('on failed authentication: the auth-failures policy, on the 401s and on the 429', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await gateway.gql(`bad-token-${i}`, '{ viewer { clientId } }'));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429]);
    for (const answer of answers) {
      expect(policyOf(answer.headers)).toBe('"auth-failures";q=3;w=60');
      expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
    }
    expect(answers.map((a) => remainingOf(a.headers))).toEqual([2, 1, 0, 0]);
    expect(answers[3]!.headers.get('ratelimit')).toMatch(/^"auth-failures";r=0;t=\d+$/);
    expect(Number(answers[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('a plan without limits', () => {
  it('says so on every response of its keys: an executed operation and one that fails validation alike', async () => {
    const unlimited = await startTestGateway({ patch: (config) => (config.plans.enterprise.limits = {}) });
    try {
      const ran = await unlimited.gql(DEMO_TOKENS.initechAdmin, '{ viewer { clientId } }');
      expect(ran.status).toBe(200);
      const invalid = await unlimited.gql(DEMO_TOKENS.initechAdmin, '{ viewer { noSuchField } }');
      expect(invalid.status).toBe(400);
      for (const response of [ran, invalid]) {
        expect(response.headers.get('x-ratelimit-exempt')).toBe('no-limits');
        expect(response.headers.get('ratelimit-policy')).toBeNull();
      }
    } finally {
      await unlimited.close();
    }
  });
});
