import { Redis } from 'ioredis';
import { request } from 'undici';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import type { Gateway } from '../../src/gateway.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import type { UsageStore } from '../../src/usage/store.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { createLoadGenerator, type LoadGenerator } from '../load.js';
import { measureInterleaved, median, type Variant } from '../measure.js';
import type { Scenario } from '../scenario.js';
import { startBenchGateway } from '../support/gateway.js';
import { redisCpuMs, scriptCalls } from '../support/redis-commands.js';

/** From the metering issue (5): throughput with metering on at least this share of metering off. */
const TARGET_THROUGHPUT_SHARE = 0.95;
/** The meter's flush period (ms), the config default, set explicitly: the probes wait on it. */
const FLUSH_INTERVAL_MS = 1000;
/** Slack after a flush period before its write counts as late (ms). */
const FLUSH_SLACK_MS = 300;

const TENANT = 'initech';
/** Answered by the gateway alone (no downstream call), so metering is a visible share of the time. */
const QUERY = '{ viewer { clientId tenant { id } } }';
const EXPECTED_DATA = { viewer: { clientId: 'initech-admin', tenant: { id: TENANT } } };
const EXPECTED_PREFIX = `{"data":${JSON.stringify(EXPECTED_DATA)}`;
/** The exact data and no error. Cheap (no JSON.parse per request): `extensions` may follow. */
const hasExpectedData = (text: string) => text.startsWith(EXPECTED_PREFIX) && !text.includes('"errors"');

/**
 * The same patch for both gateways but `usage.enabled`. initech's plan (enterprise, only initech
 * is on it) gets `limits: {}`: no dimension, so no limit check, and the only Redis script calls
 * left are the meter's flushes (checked per run).
 */
const withMetering = (enabled: boolean) => (config: Record<string, any>) => {
  config.plans.enterprise.limits = {};
  config.usage = { enabled, flushIntervalMs: FLUSH_INTERVAL_MS };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What metering costs in throughput: two gateways sharing one private redis-server, identical but
 * for `usage.enabled` (off: the no-op meter), measured interleaved (off, on, off, on) with the same
 * cheap query as initech. Baseline: metering off.
 */
export const meteringScenario: Scenario = {
  name: 'metering',
  description: `throughput with usage metering on vs off (target: on >= ${TARGET_THROUGHPUT_SHARE}x off)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const startedAt = Date.now();
      const redisServer = await startTestRedis();
      cleanups.push(() => redisServer.stop());
      const stats = new Redis(redisServer.url);
      cleanups.push(() => stats.quit());
      // Read-only here: the store's queries read what the "on" gateway's meter wrote.
      const usage = createRedisUsageStore({ redis: stats });
      const started = await Promise.allSettled([
        startBenchGateway({ redisUrl: redisServer.url, patch: withMetering(false) }),
        startBenchGateway({ redisUrl: redisServer.url, patch: withMetering(true) }),
      ]);
      // Close whichever started, even when the other did not.
      for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.close());
      const [off, on] = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value;
      }) as [Gateway, Gateway];
      log(`redis-server ${redisServer.url}; metering off ${off.url}; metering on ${on.url}; flush every ${FLUSH_INTERVAL_MS} ms`);

      // Prove the two variants differ the way the names say before measuring anything.
      const metered = () => meteredRequests(usage, startedAt);
      await probeOff(off, stats);
      const { scriptsPerFlush } = await probeOn(on, stats, metered);
      log(
        `probe: metering off wrote no usage key in ${(2.5 * FLUSH_INTERVAL_MS) / 1000} s; metering on wrote usage keys, ${scriptsPerFlush} script calls per flush`,
      );
      /** Requests sent to the "on" gateway, probes included: each must be metered exactly once. */
      let sentToOn = 2;

      /** Per measured run: Redis script calls per second, this process's and redis-server's CPU per request (ms). */
      const perRun = new Map<string, { scriptsPerSecond: number[]; cpuMs: number[]; redisCpuMs: number[] }>();
      const variant = (name: string, gateway: Gateway, metering: boolean): Variant => {
        const load: LoadGenerator = createLoadGenerator(
          {
            origin: gateway.url,
            path: '/graphql',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
            body: JSON.stringify({ query: QUERY }),
            isSuccess: hasExpectedData,
          },
          { concurrency: options.concurrency },
        );
        cleanups.push(() => load.close());
        const counts = { scriptsPerSecond: [] as number[], cpuMs: [] as number[], redisCpuMs: [] as number[] };
        perRun.set(name, counts);
        return {
          name,
          async run(durationMs, phase) {
            const [calls, redisCpu] = [await scriptCalls(stats), await redisCpuMs(stats)];
            const cpu = process.cpuUsage();
            const result = await load.run({ durationMs });
            const { user, system } = process.cpuUsage(cpu);
            const [callsAfter, redisCpuAfter] = [await scriptCalls(stats), await redisCpuMs(stats)];
            if (metering) sentToOn += result.requests;
            // Untimed pause after every run, both variants alike: the last flush of an "on" run lands
            // here, not during the next run, and every run starts from the same idle machine.
            await sleep(FLUSH_INTERVAL_MS + FLUSH_SLACK_MS);
            if (phase === 'measure') {
              const n = Math.max(1, result.requests);
              counts.scriptsPerSecond.push(((callsAfter - calls) / result.durationMs) * 1000);
              counts.cpuMs.push((user + system) / 1000 / n);
              counts.redisCpuMs.push((redisCpuAfter - redisCpu) / n);
            }
            return result;
          },
        };
      };
      const results = await measureInterleaved([variant('metering off', off, false), variant('metering on', on, true)], options, log);
      const [offResult, onResult] = results as [(typeof results)[0], (typeof results)[0]];
      const offRuns = perRun.get('metering off')!;
      const onRuns = perRun.get('metering on')!;

      const share = onResult.median.throughput / offResult.median.throughput;
      const perRound = onResult.runs.map((run, i) => run.throughput / offResult.runs[i]!.throughput);
      const meteredCount = await metered();
      const flushesPerSecond = median(onRuns.scriptsPerSecond) / scriptsPerFlush;
      const offScriptsPerSecond = median(offRuns.scriptsPerSecond);
      // Every request to "on" counted once, none of "off"'s (same tenant: they would add up), no script call during "off" runs.
      const meteringAsNamed = meteredCount === sentToOn && offScriptsPerSecond === 0 && flushesPerSecond > 0;
      const baselineSpread = Math.max(...offResult.runs.map((r) => r.throughput)) / Math.min(...offResult.runs.map((r) => r.throughput)) - 1;
      const us = (ms: number) => `${Math.round(ms * 1000)} µs`;
      const [offCpu, onCpu] = [median(offRuns.cpuMs), median(onRuns.cpuMs)];
      const [offRedisCpu, onRedisCpu] = [median(offRuns.redisCpuMs), median(onRuns.redisCpuMs)];

      const notes = [
        `metered requests in Redis (initech): ${meteredCount} of ${sentToOn} sent to metering on (probes and warm-up included; ` +
          `metering off's requests, same tenant, would add to it)`,
        `redis pipeline flushes during metering on runs: ${flushesPerSecond.toFixed(2)} per second (${(median(onRuns.scriptsPerSecond)).toFixed(2)} script calls/s, ` +
          `${scriptsPerFlush} per flush), about ${Math.round(onResult.median.throughput / Math.max(flushesPerSecond, 1e-9))} requests per flush; ` +
          `during metering off runs: ${offScriptsPerSecond.toFixed(2)} script calls/s (expected 0)`,
        `throughput on / off per round (odd rounds run off then on, even rounds on then off): ${perRound.map((r) => `${r.toFixed(3)}×`).join(', ')}`,
        `CPU per request: this process (gateways + load generator) ${us(offCpu)} off, ${us(onCpu)} on (${signed(onCpu - offCpu, us)}); ` +
          `redis-server ${(offRedisCpu * 1000).toFixed(2)} µs off, ${(onRedisCpu * 1000).toFixed(2)} µs on (its background work, plus the flushes when on)`,
        `the baseline's throughput varied by ${(baselineSpread * 100).toFixed(1)}% between its runs: a smaller difference is noise`,
      ];
      if (!meteringAsNamed) {
        notes.push(
          '!!! the variants did not meter as their names promise (requests missing from or extra in Redis, or script calls ' +
            'while metering was off): this run does not measure metering',
        );
      }
      const met = meteringAsNamed && share >= TARGET_THROUGHPUT_SHARE;
      return {
        title: `metering: "${QUERY}" as ${TENANT} (limits: {}), ${options.concurrency} concurrent`,
        baseline: 'metering off',
        variants: results,
        notes,
        verdict: {
          met,
          line:
            `metering on serves ${share.toFixed(3)}× the throughput of metering off ` +
            `(p50 ${signed(onResult.median.p50 - offResult.median.p50)} ms, p99 ${signed(onResult.median.p99 - offResult.median.p99)} ms); ` +
            `issue target >= ${TARGET_THROUGHPUT_SHARE}×: ${!meteringAsNamed ? 'not measured' : met ? 'met' : 'MISSED'}`,
        },
      };
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

/** initech's requests in the usage rollups (minute buckets) since `since`, as the store reads them. */
async function meteredRequests(usage: UsageStore, since: number): Promise<number> {
  const points = await usage.history({ tenantId: TENANT, granularity: 'minute', from: since - 60_000, to: Date.now() });
  return points.reduce((sum, point) => sum + point.requests, 0);
}

/** One request; throws unless it answered 200 with the expected data and no error. */
async function query(gateway: Gateway, which: string): Promise<void> {
  const response = await request(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
    body: JSON.stringify({ query: QUERY }),
  });
  const text = await response.body.text();
  const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown };
  if (response.statusCode !== 200 || parsed.errors !== undefined || JSON.stringify(parsed.data) !== JSON.stringify(EXPECTED_DATA) || !hasExpectedData(text)) {
    throw new Error(`${which}: expected 200 with data ${JSON.stringify(EXPECTED_DATA)} and no errors, got ${response.statusCode} ${text}`);
  }
}

/**
 * Metering off: one request, then 2.5 flush periods (longer than the "on" gateway is shown to need)
 * with no script call and no `usage:` key in Redis. Runs first, on the empty server.
 */
async function probeOff(gateway: Gateway, stats: Redis): Promise<void> {
  const before = await scriptCalls(stats);
  await query(gateway, 'metering off');
  await sleep(2.5 * FLUSH_INTERVAL_MS);
  const [keys, calls] = [await stats.keys('usage:*'), (await scriptCalls(stats)) - before];
  if (keys.length > 0 || calls !== 0) {
    throw new Error(`metering off: usage was written (${keys.length} usage keys, e.g. ${String(keys[0])}; ${calls} script calls)`);
  }
}

/**
 * Metering on: two requests one after the other, each counted in the rollups (read back through
 * the store's `history`) within a flush period or so, and `usage:{initech}:` keys in Redis. The
 * second flush's script calls (the first may also load the script) give the calls per flush.
 * Waits up to 5 s for the first, while the gateway's Redis connection comes up (until then a
 * flush fails and its aggregates wait for the next).
 */
async function probeOn(gateway: Gateway, stats: Redis, metered: () => Promise<number>): Promise<{ scriptsPerFlush: number }> {
  let scriptsPerFlush = 0;
  for (const [n, timeoutMs] of [
    [1, 5000],
    [2, 2 * FLUSH_INTERVAL_MS],
  ] as const) {
    const before = await scriptCalls(stats);
    await query(gateway, 'metering on');
    const deadline = Date.now() + timeoutMs;
    let count = await metered();
    while (count < n && Date.now() < deadline) {
      await sleep(50);
      count = await metered();
    }
    if (count !== n) throw new Error(`metering on: expected ${n} metered request(s) for ${TENANT} in Redis within ${timeoutMs} ms, found ${count}`);
    await sleep(100); // the flush's fleet script runs right after the tenant's, in the same pipeline
    scriptsPerFlush = (await scriptCalls(stats)) - before;
  }
  const keys = await stats.keys(`usage:{${TENANT}}:*`);
  if (keys.length === 0) throw new Error(`metering on: no usage:{${TENANT}}: key in Redis`);
  if (scriptsPerFlush < 1) throw new Error(`metering on: a flush made no script call (${scriptsPerFlush})`);
  return { scriptsPerFlush };
}

function signed(value: number, format: (v: number) => string = (v) => v.toFixed(2)): string {
  return `${value >= 0 ? '+' : '-'}${format(Math.abs(value))}`;
}
