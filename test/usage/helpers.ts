import { Redis } from 'ioredis';
import { createLogger } from '../../src/observability/logger.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { createMemoryUsageStore } from '../../src/usage/memory-usage-store.js';
import { createMeter } from '../../src/usage/meter.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import type { UsageStore } from '../../src/usage/store.js';
import { createRedis } from '../../src/stores/redis.js';
import { startTestCluster, type TestCluster } from '../support/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

export const silent = createLogger({ level: 'silent' });

/** 2026-11-22T15:30:00Z, the reference instant of the suites (a Sunday). */
export const T0 = Date.UTC(2026, 10, 22, 15, 30, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function event(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: T0,
    tenantId: 'acme',
    clientId: 'key-1',
    planId: 'pro',
    principalKind: 'apiKey',
    operationName: 'Q',
    rootFields: ['Query.customers'],
    status: 'ok',
    throttledBy: null,
    latencyMs: 10,
    requestedCost: 0,
    actualCost: 0,
    responseBytes: 0,
    cacheHits: 0,
    cacheMisses: 0,
    ...overrides,
  };
}

/** Records the events through a real meter and flushes them into the store. */
export async function meterInto(store: UsageStore, events: readonly UsageEvent[]): Promise<void> {
  const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
  for (const e of events) meter.record(e);
  await meter.close();
  const stats = meter.stats();
  if (stats.droppedEvents !== 0 || stats.failedFlushes !== 0) throw new Error(`metering failed: ${JSON.stringify(stats)}`);
}

export interface Backend {
  name: string;
  start(): Promise<{ make(now: () => number): UsageStore; reset(): Promise<void>; close(): Promise<void> }>;
}

export const backends: Backend[] = [
  {
    name: 'memory store',
    start: async () => ({ make: (now) => createMemoryUsageStore({ now }), reset: async () => {}, close: async () => {} }),
  },
  {
    name: 'redis store',
    start: async () => {
      const server: TestRedis = await startTestRedis();
      const redis = new Redis(server.url);
      return {
        make: (now) => createRedisUsageStore({ redis, now }),
        reset: async () => void (await redis.flushall()),
        close: async () => {
          redis.disconnect();
          await server.stop();
        },
      };
    },
  },
  {
    // Tenants' rollups and the fleet's on different masters: writes and reads split per node.
    name: 'redis store on a 3-master cluster',
    start: async () => {
      const cluster: TestCluster = await startTestCluster();
      const redis = createRedis({ cluster: { nodes: cluster.nodes.map((n) => n.address), tls: false } }, silent);
      await new Promise((resolve) => redis.once('ready', resolve));
      return {
        make: (now) => createRedisUsageStore({ redis, now }),
        reset: () => cluster.flushKeepingEpoch(),
        close: async () => {
          redis.disconnect();
          await cluster.stop();
        },
      };
    },
  },
];

/** `INFO commandstats` as { command: calls }. */
export async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

export function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d !== 0) changed[name] = d;
  }
  return changed;
}
