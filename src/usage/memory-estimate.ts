import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { bucketId, nextBucket } from './buckets.js';
import { createLogger } from '../observability/logger.js';
import type { UsageEvent } from './event.js';
import { RETENTION_MS, FLEET_HOUR_INDEX_TTL_MS } from './keys.js';
import { createMeter } from './meter.js';
import { createRedisUsageStore } from './redis-usage-store.js';
import type { Granularity } from './store.js';

/**
 * Measures the Redis memory of the usage rollups and extrapolates it to a fleet (MEMORY.md).
 * Writes one minute of representative traffic for one tenant through the real meter and store,
 * measures each key class, then calibrates the true per-key cost (key name, dict and expires
 * entries, allocator rounding) by RESTOREing copies of each key and reading `used_memory`. The
 * keyspace's hash tables are pre-sized so no table doubles during a measurement; their slots
 * are added as an average instead (DICT_SLOT_BYTES per dict the key is in).
 *
 *   npx tsx src/usage/memory-estimate.ts redis://127.0.0.1:6399    (an EMPTY scratch database)
 */

export interface Assumptions {
  tenants: number;
  clients: number;
  rootFields: number;
  /** Plans in the fleet (fleet per-plan series; a fixed cost, not per tenant). */
  plans: number;
  /** Requests per tenant per minute, every minute. */
  requestsPerMinute: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = { tenants: 1000, clients: 3, rootFields: 8, plans: 4, requestsPerMinute: 60 };

export interface KeyClass {
  name: string;
  /** Fields in the representative hash. */
  fields: number;
  encoding: string;
  /** `MEMORY USAGE key SAMPLES 0`. */
  memoryUsage: number;
  /** used_memory growth per copy: what one more such key really costs. */
  bytesPerKey: number;
  /** Keys of this class alive per tenant in steady state (TTL classes) or per year (kept classes). */
  keysPerTenant: number;
  kept: boolean;
}

export interface MemoryEstimate {
  assumptions: Assumptions;
  classes: KeyClass[];
  /** Bytes per tenant one year in: the TTL-bounded classes at steady state plus a year of day/month keys. */
  bytesPerTenantFirstYear: number;
  /** Bytes per tenant added each further year (day and month keys are kept). */
  bytesPerTenantPerYear: number;
  /** Bytes per tenant of the fleet indexes (its `t:<tenant>` entry in hour/day/month index hashes), first year. */
  fleetIndexBytesPerTenant: number;
  /** Fleet per-plan and per-root-field series: independent of the tenant count, first year. */
  fleetSeriesBytes: number;
  totalFirstYear: number;
}

const COPIES = 2000;
/** Keys held while measuring so that the main and expires tables (65,536 slots) do not resize. */
const PRESIZE_KEYS = 40_000;
/** A table slot is 8 bytes; tables run 50-100 % full, so a key costs 8-16 B of slots per dict: 12 on average. */
const DICT_SLOT_BYTES = 12;
const T = Date.UTC(2026, 10, 22, 15, 30, 0);
const LATENCIES = [3, 8, 15, 30, 80, 150, 400];

/** One minute of a tenant's traffic: weighted clients, 2 of the root fields per request, a few errors and throttles. */
function traffic(tenantId: string, a: Assumptions): UsageEvent[] {
  const fields = Array.from({ length: a.rootFields }, (_, i) => `Query.field${i}`);
  return Array.from({ length: a.requestsPerMinute }, (_, i): UsageEvent => {
    const status = i === 0 ? 'throttled' : i === 1 ? 'error' : 'ok';
    return {
      at: T + i * 997,
      tenantId,
      clientId: `key-${(i * i) % a.clients}`,
      planId: 'pro',
      principalKind: 'apiKey',
      operationName: null,
      rootFields: [fields[i % a.rootFields]!, fields[(i + 3) % a.rootFields]!],
      status,
      throttledBy: status === 'throttled' ? 'requests' : null,
      latencyMs: LATENCIES[i % LATENCIES.length]!,
      requestedCost: 5 + (i % 15),
      actualCost: 4 + (i % 12),
      responseBytes: 800 + 37 * i,
      cacheHits: i % 3,
      cacheMisses: i % 2,
    };
  });
}

export async function estimateUsageMemory(redis: Redis, assumptions: Assumptions = DEFAULT_ASSUMPTIONS): Promise<MemoryEstimate> {
  const size = await redis.dbsize();
  if (size !== 0) throw new Error(`memory estimate needs an empty Redis database: DBSIZE is ${size}; point it at a scratch instance`);
  const a = assumptions;
  try {
    const meter = createMeter({ store: createRedisUsageStore({ redis }), logger: createLogger({ level: 'silent' }), intervalMs: 3_600_000 });
    for (const e of traffic('tenant-0001', a)) meter.record(e);
    await meter.close();

    const presize = redis.pipeline();
    for (let i = 0; i < PRESIZE_KEYS; i++) presize.set(`presize:${i}`, '1', 'PX', 3_600_000);
    await presize.exec();

    const d = RETENTION_MS.detail;
    const t = RETENTION_MS.totals;
    const perDay = (ms: number | null) => (ms === null ? 0 : ms / 86_400_000);
    // [class name, representative key, granularity of its id, keys per tenant, kept]
    const specs: [string, string, Granularity, number, boolean][] = [
      ['tenant minute', 'usage:{tenant-0001}:m:202611221530', 'minute', perDay(t.minute) * 1440, false],
      ['tenant hour', 'usage:{tenant-0001}:h:2026112215', 'hour', perDay(t.hour) * 24, false],
      ['tenant day', 'usage:{tenant-0001}:d:20261122', 'day', 365, true],
      ['tenant month', 'usage:{tenant-0001}:mo:202611', 'month', 12, true],
      ['client minute', 'usage:{tenant-0001}:c:key-1:m:202611221530', 'minute', a.clients * perDay(d.minute) * 1440, false],
      ['client hour', 'usage:{tenant-0001}:c:key-1:h:2026112215', 'hour', a.clients * perDay(d.hour) * 24, false],
      ['client day', 'usage:{tenant-0001}:c:key-1:d:20261122', 'day', a.clients * 365, true],
      ['client month', 'usage:{tenant-0001}:c:key-1:mo:202611', 'month', a.clients * 12, true],
      ['root field minute', 'usage:{tenant-0001}:f:Query.field1:m:202611221530', 'minute', a.rootFields * perDay(d.minute) * 1440, false],
      ['root field hour', 'usage:{tenant-0001}:f:Query.field1:h:2026112215', 'hour', a.rootFields * perDay(d.hour) * 24, false],
      ['root field day', 'usage:{tenant-0001}:f:Query.field1:d:20261122', 'day', a.rootFields * 365, true],
      ['root field month', 'usage:{tenant-0001}:f:Query.field1:mo:202611', 'month', a.rootFields * 12, true],
      ['tenant index day', 'usage:{tenant-0001}:idx:d:20261122', 'day', 365, true],
      ['tenant index month', 'usage:{tenant-0001}:idx:mo:202611', 'month', 12, true],
    ];
    await costPerCopy(redis, specs[0]![1], 'minute'); // warm-up: the first round grows allocator arenas
    const classes: KeyClass[] = [];
    for (const [name, key, granularity, keysPerTenant, kept] of specs) {
      const fields = await redis.hlen(key);
      if (fields === 0) throw new Error(`memory estimate: representative key ${key} is missing`);
      classes.push({
        name,
        fields,
        encoding: String(await redis.object('ENCODING', key)),
        memoryUsage: Number(await redis.memory('USAGE', key, 'SAMPLES', 0)),
        bytesPerKey: await costPerCopy(redis, key, granularity),
        keysPerTenant,
        kept,
      });
    }
    const firstYear = classes.reduce((sum, c) => sum + c.bytesPerKey * c.keysPerTenant, 0);
    const perYear = classes.filter((c) => c.kept).reduce((sum, c) => sum + c.bytesPerKey * c.keysPerTenant, 0);

    // Fleet indexes: one `t:<tenant>` entry per tenant in each live hour index and each kept day/month index.
    const fleetEntry = await fleetIndexEntryBytes(redis, a.tenants);
    const fleetIndexBytesPerTenant = fleetEntry * (perDay(FLEET_HOUR_INDEX_TTL_MS) * 24 + 365 + 12);
    // Fleet series (per plan, per root field): like a tenant's totals, for plans + root fields series.
    const totalsClasses = classes.filter((c) => c.name.startsWith('tenant ') && !c.name.includes('index'));
    const fleetSeriesBytes = (a.plans + a.rootFields) * totalsClasses.reduce((sum, c) => sum + c.bytesPerKey * c.keysPerTenant, 0);
    return {
      assumptions: a,
      classes,
      bytesPerTenantFirstYear: firstYear,
      bytesPerTenantPerYear: perYear,
      fleetIndexBytesPerTenant,
      fleetSeriesBytes,
      totalFirstYear: a.tenants * (firstYear + fleetIndexBytesPerTenant) + fleetSeriesBytes,
    };
  } finally {
    await redis.flushdb();
  }
}

/**
 * used_memory growth per RESTOREd copy of `key`: the median of three trials. One trial can come
 * out low when the keyspace's hash table is being resized by Redis meanwhile (seen: 149 instead
 * of 280 bytes for one class, now and then), which made the estimate, and its test, unstable.
 */
async function costPerCopy(redis: Redis, key: string, granularity: Granularity): Promise<number> {
  const trials = [
    await costPerCopyOnce(redis, key, granularity),
    await costPerCopyOnce(redis, key, granularity),
    await costPerCopyOnce(redis, key, granularity),
  ];
  return trials.sort((a, b) => a - b)[1]!;
}

/** used_memory growth per RESTOREd copy of `key`, under names of the same length (other bucket ids). */
async function costPerCopyOnce(redis: Redis, key: string, granularity: Granularity): Promise<number> {
  const dump = await redis.dumpBuffer(key);
  const ttl = Math.max(0, await redis.pttl(key));
  const id = bucketId(granularity, T);
  const stem = key.slice(0, key.length - id.length);
  const before = await usedMemory(redis);
  const pipeline = redis.pipeline();
  let at = nextBucket(granularity, T);
  for (let i = 0; i < COPIES; i++, at = nextBucket(granularity, at)) pipeline.restore(`${stem}${bucketId(granularity, at)}`, ttl, dump);
  await pipeline.exec();
  const after = await usedMemory(redis);
  const pipelineDel = redis.pipeline();
  at = nextBucket(granularity, T);
  for (let i = 0; i < COPIES; i++, at = nextBucket(granularity, at)) pipelineDel.del(`${stem}${bucketId(granularity, at)}`);
  await pipelineDel.exec();
  return Math.round((after - before) / COPIES + DICT_SLOT_BYTES * (ttl > 0 ? 2 : 1));
}

async function fleetIndexEntryBytes(redis: Redis, tenants: number): Promise<number> {
  const key = 'usage:{_fleet}:idx:d:20300101';
  const pipeline = redis.pipeline();
  for (let i = 0; i < tenants; i++) pipeline.hset(key, `t:tenant-${String(i).padStart(4, '0')}`, 'pro');
  await pipeline.exec();
  const bytes = Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
  await redis.del(key);
  return Math.round(bytes / tenants);
}

/**
 * Memory held by data: `used_memory` less the client buffers (`mem_clients_normal`). The big
 * RESTORE pipelines leave a large query buffer on this connection that Redis shrinks only in
 * its periodic client cron, so counting it made the figure depend on timing (and the test flaky
 * on a loaded machine).
 */
async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)![1]);
  return field('used_memory') - field('mem_clients_normal');
}

export function formatEstimate(e: MemoryEstimate): string {
  const mb = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`);
  const rows = e.classes.map(
    (c) =>
      `| ${c.name} | ${c.fields} | ${c.encoding} | ${c.memoryUsage} | ${c.bytesPerKey} | ${c.keysPerTenant}${c.kept ? ' / year' : ''} | ${mb(c.bytesPerKey * c.keysPerTenant)} |`,
  );
  const a = e.assumptions;
  return [
    `Assumptions: ${a.tenants} tenants, each active every minute (${a.requestsPerMinute} requests/min), ${a.clients} clients, ${a.rootFields} root fields, ${a.plans} plans.`,
    '',
    '| key class | fields | encoding | MEMORY USAGE (B) | measured B/key | keys per tenant | per tenant |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Per tenant, first year: ${mb(e.bytesPerTenantFirstYear)} (+ ${mb(e.fleetIndexBytesPerTenant)} in fleet indexes); each further year adds ${mb(e.bytesPerTenantPerYear)}.`,
    `Fleet per-plan and per-root-field series: ${mb(e.fleetSeriesBytes)}.`,
    `Total for ${a.tenants} tenants, first year: ${mb(e.totalFirstYear)}.`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.argv[2] ?? process.env.REDIS_URL;
  if (!url) {
    console.error('usage: npx tsx src/usage/memory-estimate.ts redis://host:port/db   (an empty scratch database)');
    process.exit(2);
  }
  const redis = new Redis(url);
  estimateUsageMemory(redis)
    .then((estimate) => console.log(formatEstimate(estimate)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    })
    .finally(() => redis.disconnect());
}
