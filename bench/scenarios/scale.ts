import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createLogger } from '../../src/observability/logger.js';
import { estimateUsageMemory } from '../../src/usage/memory-estimate.js';
import { createMeter } from '../../src/usage/meter.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { createLoadGenerator } from '../load.js';
import type { Scenario } from '../scenario.js';

/**
 * What one request costs Redis and the gateway, measured, for docs/SCALING.md: Redis commands
 * (by name), Redis CPU, bytes on the Redis connection and gateway CPU per request, for three
 * request kinds, each on its own gateway process sharing one private redis-server; then Redis
 * memory per tenant (limit windows, cache entries, usage rollups).
 *
 * Every plan dimension is on (a minute of requests and of cost points, day and month quotas,
 * bandwidth per hour) with limits the load never reaches, so each request runs the full check
 * and its post-response settle, as a Free or Pro tenant's would.
 */

const CHEAP = '{ viewer { clientId } }';
/** Cached fields: after the first request, every one is a hit (one MGET: entry + tag tokens). */
const CACHED = '{ product(id: "prd_1") { id name price { formatted } } }';

interface Kind {
  name: string;
  description: string;
  query: string;
  patch: (config: Record<string, any>) => void;
}

const allDimensions = (config: Record<string, any>) => {
  // Every check must reach Redis to be measured: on this loaded 2-core machine (and under
  // MONITOR, below) a 50 ms reply timeout would now and then start a fallback episode, whose
  // local decisions send nothing and would make requests look cheaper than they are.
  config.limits = { ...config.limits, storeTimeoutMs: 2000 };
  config.plans.pro.limits = {
    ...config.plans.pro.limits,
    requestsPerMinute: 100_000_000,
    requestsPerDay: 1_000_000_000,
    requestsPerMonth: 1_000_000_000,
    costPerMinute: 1_000_000_000,
    responseBytesPerHour: 1_000_000_000_000,
  };
};

const KINDS: Kind[] = [
  {
    name: 'nothing on',
    description: 'no plan limit, usage metering and cache off: what the rest of the request costs',
    query: CHEAP,
    patch: (c) => {
      c.plans.pro.limits = {};
      c.usage = { ...c.usage, enabled: false };
      c.cache = { ...c.cache, enabled: false };
    },
  },
  {
    name: 'limit check only',
    description: 'usage metering and cache off: the plan-limit check alone',
    query: CHEAP,
    patch: (c) => {
      allDimensions(c);
      c.usage = { ...c.usage, enabled: false };
      c.cache = { ...c.cache, enabled: false };
    },
  },
  {
    name: '+ usage metering',
    description: 'limit check plus the usage meter (flushed once a second per instance)',
    query: CHEAP,
    patch: (c) => {
      allDimensions(c);
      c.cache = { ...c.cache, enabled: false };
    },
  },
  {
    name: '+ cache hit',
    description: 'everything on, a cached field answered from Redis',
    query: CACHED,
    patch: allDimensions,
  },
];

interface RedisCounters {
  cpuMs: number;
  netIn: number;
  netOut: number;
}

async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const [cpu, net] = await Promise.all([redis.info('cpu'), redis.info('stats')]);
  const num = (text: string, name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    cpuMs: (num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys')) * 1000,
    netIn: num(net, 'total_net_input_bytes'),
    netOut: num(net, 'total_net_output_bytes'),
  };
}

/** Requests in the counted run of each kind. */
const COUNTED_REQUESTS = 2000;

/**
 * Runs `work` with a MONITOR connection open and counts the commands Redis executed meanwhile,
 * by name: sent by clients, and run inside scripts. Waits 1.5 s after `work` so the requests'
 * settles and the meter's next flush (1 s interval) are counted with them.
 */
async function countCommands(url: string, work: () => Promise<{ requests: number; errors: number; firstError?: string }>) {
  const client = new Map<string, number>();
  const script = new Map<string, number>();
  const monitorConnection = new Redis(url);
  const monitor = await monitorConnection.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase();
    const into = source === 'lua' ? script : client;
    into.set(name, (into.get(name) ?? 0) + 1);
  });
  try {
    const { requests, errors, firstError } = await work();
    if (errors > 0) throw new Error(`counted run: ${errors} requests failed (${firstError ?? ''})`);
    await new Promise((r) => setTimeout(r, 1500));
    return { requests, client, script };
  } finally {
    monitor.disconnect();
    monitorConnection.disconnect();
  }
}

/** User + system CPU of a process, ms, from /proc (clock ticks of 10 ms). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const scaleScenario: Scenario = {
  name: 'scale',
  description: 'Redis commands, Redis CPU, Redis bytes and gateway CPU per request, and Redis memory per tenant (docs/SCALING.md)',
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    const notes: string[] = [];
    try {
      const redisServer = await startTestRedis();
      cleanups.push(() => redisServer.stop());
      const redis = new Redis(redisServer.url);
      cleanups.push(() => redis.quit());

      notes.push(
        `per request, ${options.concurrency} concurrent, ${options.durationMs / 1000} s each, one gateway process per kind (tenant globex, plan pro, every dimension on):`,
      );
      for (const kind of KINDS) {
        const gateway: GatewayProcess = await startGatewayProcess({ redisUrl: redisServer.url, patch: kind.patch });
        try {
          const target = {
            origin: gateway.url,
            path: '/graphql',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
            body: JSON.stringify({ query: kind.query }),
            isSuccess: (body: string) => body.startsWith('{"data":') && !body.includes('"errors"'),
          };
          const load = createLoadGenerator(target, { concurrency: options.concurrency });
          try {
            await load.run({ durationMs: options.warmupMs });
            // Let the warm-up's usage flush and settles land before counting.
            await new Promise((r) => setTimeout(r, 1500));
            const pid = gateway.child.pid!;
            const r0 = await redisCounters(redis);
            const c0 = await processCpuMs(pid);
            const result = await load.run({ durationMs: options.durationMs });
            // The requests' own settles and the meter's flush of them (1 s interval) land after the run.
            await new Promise((r) => setTimeout(r, 1500));
            const c1 = await processCpuMs(pid);
            const r1 = await redisCounters(redis);
            if (result.errors > 0) throw new Error(`${kind.name}: ${result.errors} requests failed (${result.firstError ?? ''})`);
            const n = result.requests;
            // Commands, counted (not timed) under MONITOR, which tells a client's commands from
            // those a script runs (source "lua"; INFO commandstats and total_commands_processed
            // count both). A bounded run, after the timed one, so MONITOR slows nothing measured.
            // Two at a time: MONITOR makes Redis slower, and a saturated run would time limit
            // checks out into local decisions, which send nothing (counts per request do not
            // depend on concurrency: nothing on the request path batches across requests).
            const countingLoad = createLoadGenerator(target, { concurrency: 2 });
            const counted = await countCommands(redisServer.url, () => countingLoad.run({ durationMs: 60_000, maxRequests: COUNTED_REQUESTS })).finally(() =>
              countingLoad.close(),
            );
            const perRequest = (m: Map<string, number>) =>
              [...m]
                .sort((a, b) => b[1] - a[1])
                .map(([name, calls]) => `${name} ${(calls / counted.requests).toFixed(2)}`)
                .join(', ');
            const clientTotal = [...counted.client.values()].reduce((a, b) => a + b, 0) / counted.requests;
            const scriptTotal = [...counted.script.values()].reduce((a, b) => a + b, 0) / counted.requests;
            notes.push(
              `${kind.name}: ${result.throughput.toFixed(0)} req/s; per request: ${clientTotal.toFixed(2)} Redis commands sent (${perRequest(counted.client)}), ` +
                `running ${scriptTotal.toFixed(2)} inside scripts (${perRequest(counted.script)}); ` +
                `Redis CPU ${((1000 * (r1.cpuMs - r0.cpuMs)) / n).toFixed(1)} µs; Redis bytes in ${((r1.netIn - r0.netIn) / n).toFixed(0)} / out ${((r1.netOut - r0.netOut) / n).toFixed(0)}; ` +
                `gateway CPU ${((1000 * (c1 - c0)) / n).toFixed(0)} µs`,
            );
            log(`${kind.name}: ${n} requests timed, ${counted.requests} counted`);
          } finally {
            await load.close();
          }
        } finally {
          await gateway.close();
        }
      }
      notes.push('(the idle background, heartbeat and override polls, is inside these figures: a few commands a second per instance)');

      // Memory per tenant: what the runs above left in Redis for globex, by key family.
      const families = new Map<string, { keys: number; bytes: number }>();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const family = key.startsWith('rl:')
            ? 'limit windows (rl:)'
            : key.startsWith('cache:')
              ? 'cache entries and tags (cache:)'
              : key.startsWith('usage:')
                ? 'usage rollups (usage:)'
                : 'other';
          const bytes = (await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
          const f = families.get(family) ?? { keys: 0, bytes: 0 };
          f.keys += 1;
          f.bytes += bytes;
          families.set(family, f);
        }
      } while (cursor !== '0');
      notes.push('', 'Redis keys after the runs (one tenant active, MEMORY USAGE):');
      for (const [family, f] of families)
        notes.push(`  ${family.padEnd(32)} ${String(f.keys).padStart(6)} keys ${(f.bytes / 1024).toFixed(1).padStart(9)} KiB`);

      // The meter's flush: one write-script call per tenant seen in the interval (plus one for
      // the fleet rollups), whatever its request count. What one tenant's share of a flush costs
      // Redis decides the metering load of a fleet whose instances each see many tenants a second.
      await redis.flushall();
      const flushTenants = 1000;
      const filledMeter = () => {
        const meter = createMeter({ store: createRedisUsageStore({ redis }), logger: createLogger({ level: 'silent' }), intervalMs: 3_600_000 });
        const at = Date.now();
        for (let i = 0; i < flushTenants; i++) {
          for (const rootField of ['Query.products', 'Query.viewer']) {
            meter.record({
              at,
              tenantId: `tenant-${i}`,
              clientId: `key-${i}`,
              planId: 'pro',
              principalKind: 'apiKey',
              operationName: null,
              rootFields: [rootField],
              status: 'ok',
              throttledBy: null,
              latencyMs: 12,
              requestedCost: 5,
              actualCost: 4,
              responseBytes: 900,
              cacheHits: 1,
              cacheMisses: 0,
            });
          }
        }
        return meter;
      };
      // Timed without MONITOR (it costs Redis CPU), then counted with it, from the same empty start.
      const timedMeter = filledMeter();
      const f0 = await redisCounters(redis);
      await timedMeter.close();
      const f1 = await redisCounters(redis);
      await redis.flushall();
      const countedMeter = filledMeter();
      const flushed = await countCommands(redisServer.url, async () => {
        await countedMeter.close();
        return { requests: flushTenants, errors: 0 };
      });
      const sent = [...flushed.client.values()].reduce((a, b) => a + b, 0);
      const inside = [...flushed.script.values()].reduce((a, b) => a + b, 0);
      notes.push(
        '',
        `usage flush, ${flushTenants} tenants (1 key, 2 root fields each) in one interval: per tenant ${(sent / flushTenants).toFixed(2)} commands sent, ` +
          `${(inside / flushTenants).toFixed(1)} run inside the write script, Redis CPU ${((1000 * (f1.cpuMs - f0.cpuMs)) / flushTenants).toFixed(0)} µs, ` +
          `Redis bytes in ${((f1.netIn - f0.netIn) / flushTenants).toFixed(0)}`,
      );

      // Usage rollups over time (the memory that grows with history), measured key class by key class.
      await redis.flushall();
      const usage = await estimateUsageMemory(redis);
      notes.push(
        '',
        `usage rollups per tenant (${usage.assumptions.clients} clients, ${usage.assumptions.rootFields} root fields, active every minute): ` +
          `${(usage.bytesPerTenantFirstYear / 2 ** 20).toFixed(2)} MiB in the first year, +${(usage.bytesPerTenantPerYear / 2 ** 20).toFixed(2)} MiB each further year; ` +
          `fleet series ${(usage.fleetSeriesBytes / 2 ** 20).toFixed(1)} MiB in all`,
      );
      return {
        title: 'scale: what a request costs Redis and the gateway, and what a tenant costs in Redis memory',
        baseline: '',
        variants: [],
        verdict: { met: true, line: 'measurements for docs/SCALING.md (no target of their own)' },
        notes,
      };
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    }
  },
};
