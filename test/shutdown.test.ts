import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../src/config/demo.js';
import { createRedisUsageStore } from '../src/usage/redis-usage-store.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { startTestRedis, type TestRedis } from './support/redis-server.js';

let redis: TestRedis;
let admin: Redis;
beforeAll(async () => {
  redis = await startTestRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

const TENANT_KEYS = { acme: DEMO_TOKENS.acmeAdmin, globex: DEMO_TOKENS.globexAdmin, initech: DEMO_TOKENS.initechAdmin } as const;

/**
 * Loops of requests against `url` until `stop()`; counts the responses each tenant received
 * (any status: a 429 is metered as throttled). Requests that got no response (the listener was
 * already closed) are not counted: the gateway never saw them.
 */
function load(url: string, loops: number) {
  let running = true;
  const answered: Record<string, number> = { acme: 0, globex: 0, initech: 0 };
  const tenants = Object.keys(TENANT_KEYS) as (keyof typeof TENANT_KEYS)[];
  const done = Promise.all(
    Array.from({ length: loops }, async (_, i) => {
      const tenant = tenants[i % tenants.length]!;
      while (running) {
        try {
          const response = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TENANT_KEYS[tenant]}` },
            body: JSON.stringify({ query: '{ viewer { clientId } }' }),
          });
          await response.arrayBuffer();
          answered[tenant]! += 1;
        } catch {
          return; // connection refused or closed: the gateway is gone
        }
      }
    }),
  );
  const stop = async () => {
    running = false;
    await done;
  };
  return { answered, stop };
}

describe('SIGTERM', () => {
  it('drains, flushes usage through a Redis write stall, and exits 0 with every answered request metered', async () => {
    const gateway = await startGatewayProcess({
      redisUrl: redis.url,
      logLevel: 'warn',
      patch: (config) => {
        // Flushes only at shutdown within this test: the last flush must carry everything.
        config.usage = { flushIntervalMs: 60_000 };
        config.server = { shutdownGraceMs: 5000 };
      },
    });
    const traffic = load(gateway.url, 12);
    await new Promise((r) => setTimeout(r, 1500));
    // Redis refuses to execute writes for 300 ms, exactly when the final flush is sent.
    await admin.client('PAUSE', 300, 'WRITE');
    gateway.child.kill('SIGTERM');
    const exit = await gateway.exited;
    await traffic.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gateway.output()).not.toContain('"level":50');

    const store = createRedisUsageStore({ redis: admin });
    const now = Date.now();
    for (const [tenantId, answered] of Object.entries(traffic.answered)) {
      expect(answered).toBeGreaterThan(10);
      const totals = await store.summary({ tenantId, granularity: 'minute', from: now - 5 * 60_000, to: now + 60_000 });
      expect({ tenantId, metered: totals.requests }).toEqual({ tenantId, metered: answered });
    }
    await gateway.close();
  });

  it('retries the final flush while Redis is down and restarting, within the grace period', async () => {
    const gateway = await startGatewayProcess({
      redisUrl: redis.url,
      patch: (config) => {
        config.usage = { flushIntervalMs: 60_000 };
        config.server = { shutdownGraceMs: 8000 };
      },
    });
    const traffic = load(gateway.url, 6);
    await new Promise((r) => setTimeout(r, 1000));
    await traffic.stop();
    // Redis dies; the gateway is told to stop; Redis is back (empty) a second later.
    admin.disconnect();
    await redis.kill();
    gateway.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await redis.restart();
    const exit = await gateway.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    const client = new Redis(redis.url);
    try {
      const store = createRedisUsageStore({ redis: client });
      const now = Date.now();
      for (const [tenantId, answered] of Object.entries(traffic.answered)) {
        const totals = await store.summary({ tenantId, granularity: 'minute', from: now - 5 * 60_000, to: now + 60_000 });
        expect({ tenantId, metered: totals.requests }).toEqual({ tenantId, metered: answered });
      }
    } finally {
      client.disconnect();
      admin = new Redis(redis.url);
    }
    await gateway.close();
  });
});
