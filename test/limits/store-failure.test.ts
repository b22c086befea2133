import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let gateway: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      // globex's plan refuses when limits cannot be checked; acme's (free) serves with local limits.
      config.plans.pro.onStoreFailure = 'closed';
      config.limits = { storeTimeoutMs: 50 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await redis.stop();
});

describe('when the limit store is slow or down', () => {
  it('does not wait for a stalled Redis: the check times out and the local fallback decides', async () => {
    const admin = new Redis(redis.url);
    try {
      await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }'); // connection and script ready
      // Redis stops answering every client for 3 s.
      await admin.client('PAUSE', 3000, 'ALL');
      const started = Date.now();
      const r = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }');
      expect(r.status).toBe(200);
      expect(r.body.data.viewer.clientId).toBe('acme-admin');
      // Served while Redis was still paused: the request did not wait for it.
      expect(Date.now() - started).toBeLessThan(3000);
      // The limits still apply (locally): headers are there.
      expect(r.headers.get('x-ratelimit-limit')).toBe('100');
    } finally {
      await admin.client('UNPAUSE').catch(() => {});
      admin.disconnect();
    }
  });

  it('refuses a fail-closed plan with a 429 (never a 5xx) and keeps serving fail-open plans and service tokens', async () => {
    await redis.kill();
    try {
      const closed = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
      expect(closed.status).toBe(429);
      expect(closed.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', plan: 'pro', dimension: 'unavailable', retryAfterSeconds: 1 });
      expect(closed.headers.get('retry-after')).toBe('1');
      expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);
      expect((await gateway.gql(DEMO_TOKENS.service, '{ viewer { clientId } }')).status).toBe(200);
    } finally {
      await redis.restart();
    }
  });
});

describe('limits inside a tenant', () => {
  let local: TestGateway;
  beforeAll(async () => {
    local = await startTestGateway({
      patch: (config) => {
        config.server = { trustProxy: true };
        config.plans.pro.limits = { requestsPerMinute: 10, perClientShare: 0.5 };
        config.plans.enterprise.limits = { requestsPerMinute: 100, perIpPerMinute: 3 };
      },
    });
  });
  afterAll(async () => {
    await local.close();
  });

  it("stops one API key from using more than its share of the tenant's minute", async () => {
    const admin: number[] = [];
    for (let i = 0; i < 6; i++) admin.push((await local.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status);
    expect(admin).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await local.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }');
    expect(refused.body.errors![0]!.extensions).toMatchObject({ dimension: 'requests', policy: 'client-minute', limit: 5 });
    // Another key of the same tenant still has the rest of the tenant's minute.
    const viewer: number[] = [];
    for (let i = 0; i < 6; i++) viewer.push((await local.gql(DEMO_TOKENS.globexViewer, '{ viewer { clientId } }')).status);
    expect(viewer).toEqual([200, 200, 200, 200, 200, 429]);
    // And the tenant's own limit (10) is now used up for every key.
    const support = await local.gql(DEMO_TOKENS.globexSupport, '{ viewer { clientId } }');
    expect(support.status).toBe(429);
    expect(support.body.errors![0]!.extensions).toMatchObject({ policy: 'minute', limit: 10 });
  });

  it('limits each client IP inside a tenant', async () => {
    const from = (ip: string) => local.gql(DEMO_TOKENS.initechAdmin, '{ viewer { clientId } }', undefined, { 'x-forwarded-for': ip });
    const a: number[] = [];
    for (let i = 0; i < 4; i++) a.push((await from('203.0.113.7')).status);
    expect(a).toEqual([200, 200, 200, 429]);
    expect((await from('203.0.113.7')).body.errors![0]!.extensions).toMatchObject({ policy: 'ip-minute', limit: 3 });
    expect((await from('198.51.100.2')).status).toBe(200);
  });
});
