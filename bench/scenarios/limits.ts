import { Redis } from 'ioredis';
import { request } from 'undici';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { createLoadGenerator, type LoadGenerator, type LoadTarget } from '../load.js';
import { measureInterleaved, median, type Variant, type VariantResult } from '../measure.js';
import type { ScenarioReport } from '../report.js';
import type { BenchOptions, Scenario } from '../scenario.js';
import { prepareCompiled } from '../support/compiled.js';
import { startGatewayProcess, type GatewayProcess as Gateway } from '../../test/support/gateway-process.js';
import { readFile } from 'node:fs/promises';
import { pushBurstParams, pushSlidingParams } from '../../src/limits/store/sliding-window.js';
import { countTopLevelCommands, commandCalls, redisCpuMs, scriptCalls, scriptSha, scriptUsec } from '../support/redis-commands.js';

/** Issue 12's targets, each against limits off in the same run. */
const TARGETS = {
  /** What limits may add to a lone request's p50 (ms), at concurrency 1. */
  addedP50MsAlone: 0.15,
  /** Throughput with limits on over off, at concurrency 32 (the event loop saturated). */
  throughputRatioLoaded: 0.97,
  /**
   * Redis commands a request costs, settles included (all commands, every connection): at most
   * one. A request served from a lease (src/limits/limiter/leasing-decider.ts) makes none.
   */
  commandsPerRequest: 1,
  /** Issue 19: what a plan with a response-byte budget may add to a lone request's p50 (ms), leased as the others. */
  addedP50MsAloneWithBytes: 0.05,
} as const;
/** The concurrency the throughput target is stated at. */
const LOADED_CONCURRENCY = 32;
const LIMITER_LUA = new URL('../../src/limits/store/limiter.lua', import.meta.url);
/** Each variant's window in the command-counting phase (MONITOR on), at concurrency 1. */
const COUNT_WINDOW_MS = 2000;

/** Answered by the gateway alone (no downstream call), so the limit check is a visible share of the time. */
const QUERY = '{ viewer { clientId tenant { id plan { id } } } }';
const EXPECTED_DATA = { viewer: { clientId: 'initech-admin', tenant: { id: 'initech', plan: { id: 'enterprise' } } } };
const EXPECTED_PREFIX = `{"data":${JSON.stringify(EXPECTED_DATA)}`;
/**
 * The exact data and no error. Cheap (no JSON.parse per request): the rest of the body varies
 * (`extensions.cost.limit.remaining` counts down when limits are on).
 */
const hasExpectedData = (text: string) => text.startsWith(EXPECTED_PREFIX) && !text.includes('"errors"');

/**
 * initech's plan (enterprise) with limits so high the bench never reaches them, but present: every
 * request runs the Redis check (request-minute and cost-minute dimensions, one EVALSHA). Calendar
 * quotas and response bytes stay `unlimited`, as in the demo enterprise plan.
 */
export const limitsOn = (config: Record<string, any>) => {
  config.plans.enterprise.limits = {
    ...config.plans.enterprise.limits,
    requestsPerMinute: 100_000_000,
    costPerMinute: 1_000_000_000,
    requestsPerDay: 'unlimited',
    requestsPerMonth: 'unlimited',
    responseBytesPerHour: 'unlimited',
  };
};
/**
 * As `limitsOn` plus a response-byte budget (as the Free and Pro plans have): every request also
 * settles after its response (its bytes), which the next check carries.
 */
export const limitsOnWithBytes = (config: Record<string, any>) => {
  limitsOn(config);
  config.plans.enterprise.limits.responseBytesPerHour = 1_000_000_000_000_000;
};
/**
 * As `limitsOn`, without leases (`limits.leases.enabled` off): every request makes its own check,
 * sent at the door when its operation text was seen before. What leases save, side by side.
 */
export const limitsOnNoLease = (config: Record<string, any>) => {
  limitsOn(config);
  config.limits = { ...(config.limits ?? {}), leases: { enabled: false } };
};
/** The same gateway, same Redis, but no limit at all: no dimension, so no limit check. */
export const limitsOff = (config: Record<string, any>) => {
  config.plans.enterprise.limits = {};
};

const TARGET: Omit<LoadTarget, 'origin'> = {
  path: '/graphql',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
  body: JSON.stringify({ query: QUERY }),
  isSuccess: hasExpectedData,
};

/**
 * What the Redis limit check adds: three gateways sharing one private redis-server, identical but
 * for initech's plan limits, measured interleaved with the same cheap query, at concurrency 1 (a
 * lone request) and at `--concurrency` (default 32, saturated). Baseline: limits off. Then the
 * Redis commands per request, counted with MONITOR.
 */
export const limitsScenario: Scenario = {
  name: 'limits',
  description:
    `what the Redis plan-limit check adds, limits on vs off, at concurrency 1 and --concurrency (targets: +p50 <= ${TARGETS.addedP50MsAlone} ms alone, ` +
    `throughput >= ${TARGETS.throughputRatioLoaded}x at ${LOADED_CONCURRENCY}, ${TARGETS.commandsPerRequest} Redis command per request)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      if (options.compiled) await prepareCompiled(log);
      const redisServer = await startTestRedis();
      cleanups.push(() => redisServer.stop());
      const stats = new Redis(redisServer.url);
      cleanups.push(() => stats.quit());
      const started = await Promise.allSettled([
        startGatewayProcess({ redisUrl: redisServer.url, compiled: options.compiled, patch: limitsOff }),
        startGatewayProcess({ redisUrl: redisServer.url, compiled: options.compiled, patch: limitsOn }),
        startGatewayProcess({ redisUrl: redisServer.url, compiled: options.compiled, patch: limitsOnWithBytes }),
        startGatewayProcess({ redisUrl: redisServer.url, compiled: options.compiled, patch: limitsOnNoLease }),
      ]);
      // Close whichever started, even when another did not.
      for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.close());
      const [off, on, bytes, noLease] = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value;
      }) as [Gateway, Gateway, Gateway, Gateway];
      log(`redis-server ${redisServer.url}; limits off ${off.url}; limits on ${on.url}; limits on + bytes ${bytes.url}; limits on, no lease ${noLease.url}`);

      // Prove the variants differ the way the names say before measuring anything.
      await probe(off, { limited: false, stats });
      await probe(on, { limited: true, stats });
      await probe(bytes, { limited: true, stats, bytes: true });
      await probe(noLease, { limited: true, stats });

      const gateways: [string, Gateway][] = [
        ['limits off', off],
        ['limits on', on],
        ['limits on + bytes', bytes],
        ['limits on, no lease', noLease],
      ];
      const levels = [...new Set([1, options.concurrency])];
      const reports: ScenarioReport[] = [];
      for (const concurrency of levels) {
        reports.push(await measureAt(concurrency, gateways, options, stats, log, cleanups));
      }

      // Before MONITOR (which slows every command down while it is on).
      const reference = await roundTrips(redisServer.url);
      // Commands per request: MONITOR tells the commands a gateway sends from those its script runs.
      log(`counting Redis commands: ${COUNT_WINDOW_MS / 1000} s per variant at concurrency 1, MONITOR on`);
      const limiterSha = scriptSha(await readFile(LIMITER_LUA, 'utf8'));
      const counts = await countTopLevelCommands(
        redisServer.url,
        gateways.map(([name, gateway]) => ({ name, run: (durationMs) => loadOn(gateway, 1, cleanups).run({ durationMs }) })),
        COUNT_WINDOW_MS,
        [stats],
        new Map([[limiterSha, 'limiter']]),
      );
      const [offCount, ...onCounts] = counts;
      const commandLines: string[] = [];
      let commandsMet = true;
      for (const count of onCounts) {
        // Both windows see the same periodic background (heartbeats, epoch checks, usage flushes of
        // every gateway): what is left after subtracting the baseline's window is what requests cost.
        // The limiter script is the only command a request sends; a settle sent on its own would
        // be one more of the same script. The rest is periodic (per second, not per request).
        const limiterCalls = count.byCommand.get('evalsha limiter') ?? 0;
        const perRequest = limiterCalls / count.requests;
        const added = (count.total - offCount!.total) / count.requests;
        // One limiter call may fall outside a window at either end (a settle flushed on its own).
        const met = limiterCalls <= count.requests * TARGETS.commandsPerRequest + 2;
        commandsMet &&= met;
        commandLines.push(
          `Redis commands per request, ${count.name}: ${perRequest.toFixed(3)} (target at most ${TARGETS.commandsPerRequest}: ${met ? 'MET' : 'NOT MET'}): ` +
            `${count.requests} requests, ${limiterCalls} limiter script calls; every command of every connection (MONITOR, top level) ` +
            `${count.total} in the window (${describe(count.byCommand)}) vs ${offCount!.total} with limits off (${describe(offCount!.byCommand)}): ` +
            `${added.toFixed(3)} per request once the periodic background is subtracted`,
        );
      }
      commandLines.push(
        `physical reference from this process: a Redis round trip (PING) p50 ${reference.ping.toFixed(3)} ms, ` +
          `the limit script alone (EVALSHA, two dimensions) p50 ${reference.script.toFixed(3)} ms`,
      );
      for (const [name, gateway] of gateways) {
        const early = await counterOf(gateway, 'limit_early_checks_total', ['used', 'refunded']);
        const leased = await counterOf(gateway, 'limit_lease_tokens_total', ['granted', 'used', 'refunded']);
        if (name === 'limits off') continue;
        commandLines.push(
          `${name}: checks sent at the door (operation seen before) ${early.used} used, ${early.refunded} refunded (limit_early_checks_total); ` +
            `lease tokens ${leased.granted} granted, ${leased.used} used without a round trip, ${leased.refunded} refunded unused (limit_lease_tokens_total)`,
        );
      }
      const last = reports[reports.length - 1]!;
      last.notes = [...(last.notes ?? []), ...commandLines];
      last.verdict = { met: last.verdict.met && commandsMet, line: `${last.verdict.line}; commands per request: ${commandsMet ? 'MET' : 'NOT MET'}` };
      return reports;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

/** One table: every gateway at `concurrency`, interleaved, with the targets that apply there. */
async function measureAt(
  concurrency: number,
  gateways: [string, Gateway][],
  options: BenchOptions,
  stats: Redis,
  log: (line: string) => void,
  cleanups: (() => Promise<unknown>)[],
): Promise<ScenarioReport> {
  log(`-- concurrency ${concurrency}`);
  /**
   * Per measured run, per request: Redis script calls, Redis calls of any kind, redis-server CPU
   * (ms); and per script call, the µs Redis spent running it.
   */
  const perRequest = new Map<string, { scriptCalls: number[]; calls: Map<string, number>[]; redisCpuMs: number[]; scriptUsec: number[] }>();
  const variant = (name: string, gateway: Gateway): Variant => {
    const load = loadOn(gateway, concurrency, cleanups);
    const counts = { scriptCalls: [] as number[], calls: [] as Map<string, number>[], redisCpuMs: [] as number[], scriptUsec: [] as number[] };
    perRequest.set(name, counts);
    return {
      name,
      async run(durationMs, phase) {
        const [calls, all, redisCpu, usec] = [await scriptCalls(stats), await commandCalls(stats), await redisCpuMs(stats), await scriptUsec(stats)];
        const result = await load.run({ durationMs });
        const n = Math.max(1, result.requests);
        if (phase === 'measure') {
          const scriptCallsInRun = (await scriptCalls(stats)) - calls;
          counts.scriptCalls.push(scriptCallsInRun / n);
          counts.scriptUsec.push(((await scriptUsec(stats)) - usec) / Math.max(1, scriptCallsInRun));
          const after = await commandCalls(stats);
          counts.calls.push(new Map([...after].map(([command, total]) => [command, (total - (all.get(command) ?? 0)) / n])));
          counts.redisCpuMs.push(((await redisCpuMs(stats)) - redisCpu) / n);
        }
        return result;
      },
    };
  };
  const results = await measureInterleaved(
    gateways.map(([name, gateway]) => variant(name, gateway)),
    options,
    log,
  );
  const [offResult, ...onResults] = results as [VariantResult, ...VariantResult[]];
  const offCalls = median(perRequest.get(offResult.name)!.scriptCalls);
  // Limits off makes no check (the probe proved it); its script calls are the gateways' usage
  // flushes. Every request of the other variants is decided by Redis: by its own check (at least
  // one script call per request), or with leases by a token Redis reserved (fewer calls, but some;
  // the bytes variant is leased too since its leases reserve response bytes).
  const leased = new Set(['limits on', 'limits on + bytes']);
  const everyRequestChecked =
    onResults.every((r) => {
      const calls = median(perRequest.get(r.name)!.scriptCalls);
      return leased.has(r.name) ? calls > 0.01 : calls >= 0.99;
    }) && offCalls < 0.5;
  const baselineSpread = Math.max(...offResult.runs.map((r) => r.p99)) - Math.min(...offResult.runs.map((r) => r.p99));
  const us = (ms: number) => `${Math.round(ms * 1000)} µs`;

  const notes: string[] = [];
  const verdicts: string[] = [];
  let met = everyRequestChecked;
  for (const on of onResults) {
    const counts = perRequest.get(on.name)!;
    const addedP50 = on.median.p50 - offResult.median.p50;
    const addedP99 = on.median.p99 - offResult.median.p99;
    const ratio = on.median.throughput / offResult.median.throughput;
    notes.push(
      `${on.name}: adds ${signed(addedP50)} ms at p50, ${signed(addedP99)} ms at p99, throughput ${ratio.toFixed(3)}x; ` +
        `script calls per request ${median(counts.scriptCalls).toFixed(2)}, ${median(counts.scriptUsec).toFixed(1)} µs of Redis time each (INFO commandstats); ` +
        `redis-server CPU ${us(median(counts.redisCpuMs))} per request; ` +
        `INFO commandstats per request (commands the script runs count here too): ${describeMedian(counts.calls)}`,
    );
    // The targets are judged on the plain check (`limits on`), and the bytes variant's lone p50 (issue 19).
    const judged = on === onResults[0];
    if (concurrency === 1) {
      const withBytes = on.name === 'limits on + bytes';
      const target = withBytes ? TARGETS.addedP50MsAloneWithBytes : TARGETS.addedP50MsAlone;
      const ok = addedP50 <= target;
      if (judged || withBytes) met &&= ok;
      verdicts.push(`${on.name} adds ${signed(addedP50)} ms p50 alone (target <= +${target}${withBytes ? ', issue 19' : ''}: ${ok ? 'MET' : 'NOT MET'})`);
    } else {
      const ok = ratio >= TARGETS.throughputRatioLoaded;
      if (judged) met &&= ok;
      const at = concurrency === LOADED_CONCURRENCY ? '' : ` (stated at ${LOADED_CONCURRENCY})`;
      verdicts.push(`${on.name} throughput ${ratio.toFixed(3)}x (target >= ${TARGETS.throughputRatioLoaded}${at}: ${ok ? 'MET' : 'NOT MET'})`);
    }
  }
  notes.push(`the baseline's p99 varied by ${baselineSpread.toFixed(2)} ms between its runs: a p99 difference smaller than that is noise`);
  if (concurrency > 1) {
    notes.push(
      `closed loop at ${concurrency} concurrent: the event loop is saturated, so each request waits behind the others ` +
        `and +x ms of work per request shows as about +${concurrency}x ms of latency (Little's law): throughput is the measure here`,
    );
  }
  if (!everyRequestChecked) {
    notes.push(
      '!!! the variants did not make the Redis calls their names promise (limit checks timed out or the breaker opened, ' +
        'falling back to the in-process store): this run does not measure the Redis check',
    );
  }
  return {
    title: `limits: "${QUERY}" as initech (enterprise), ${concurrency} concurrent${options.compiled ? ', compiled build' : ''}`,
    baseline: offResult.name,
    variants: results,
    notes,
    verdict: { met, line: everyRequestChecked ? verdicts.join('; ') : 'not measured (see above)' },
  };
}

/** A load generator on `gateway` at `concurrency`, closed with the scenario. */
function loadOn(gateway: Gateway, concurrency: number, cleanups: (() => Promise<unknown>)[]): LoadGenerator {
  const load = createLoadGenerator({ origin: gateway.url, ...TARGET }, { concurrency });
  cleanups.push(() => load.close());
  return load;
}

/** p50 of a bare PING and of the limit script with two dimensions, from this process (ms). */
async function roundTrips(url: string): Promise<{ ping: number; script: number }> {
  const client = new Redis(url);
  try {
    const lua = await readFile(LIMITER_LUA, 'utf8');
    const sha = (await client.script('LOAD', lua)) as string;
    // Built by the store's own helpers, so the layout follows the script (limiter.lua's header).
    const args = ['consume', '', '0'];
    for (const [limit, amount] of [
      [100_000_000, 1],
      [1_000_000_000, 3],
    ]) {
      args.push('s', String(limit), String(amount), '0');
      pushSlidingParams(args, { windowMs: 60_000, buckets: 30 });
      pushBurstParams(args, {});
    }
    const time = async (call: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const started = performance.now();
        await call();
        if (i >= 100) samples.push(performance.now() - started);
      }
      return median(samples);
    };
    return {
      ping: await time(() => client.ping()),
      script: await time(() => client.evalsha(sha, 2, 'rl:{bench-reference}:req:m', 'rl:{bench-reference}:cost:m', ...args)),
    };
  } finally {
    await client.quit();
  }
}

/**
 * One request to `gateway`: the expected data, and the rate-limit headers and a Redis script call
 * exactly when `limited`. Retries for up to 5 s while the gateway's limit connection to Redis
 * comes up (until then the check falls back to the in-process store).
 */
async function probe(gateway: Gateway, { limited, stats, bytes = false }: { limited: boolean; stats: Redis; bytes?: boolean }): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const before = await scriptCalls(stats);
    const response = await request(`${gateway.url}/graphql`, { method: 'POST', headers: TARGET.headers, body: TARGET.body });
    const text = await response.body.text();
    const calls = (await scriptCalls(stats)) - before;
    const policy = response.headers['ratelimit-policy'];
    const which = limited ? 'limits on' : 'limits off';
    // `extensions` (the cost report, say) may come along; errors may not.
    const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown };
    if (response.statusCode !== 200 || parsed.errors !== undefined || JSON.stringify(parsed.data) !== JSON.stringify(EXPECTED_DATA) || !hasExpectedData(text)) {
      throw new Error(`${which}: expected 200 with data ${JSON.stringify(EXPECTED_DATA)} and no errors, got ${response.statusCode} ${text}`);
    }
    if (!limited) {
      // A script call counted here may be another gateway's background work (a usage flush, a
      // lease renewal: the count is server-wide), so only a window with none proves no check.
      if (policy === undefined && calls === 0) return;
      if (policy !== undefined || Date.now() > deadline)
        throw new Error(`limits off: a limit was checked (RateLimit-Policy: ${String(policy)}, ${calls} script calls)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const policies = typeof policy === 'string' && policy.includes('"minute"') && policy.includes('"cost-minute"') && policy.includes('"bytes-hour"') === bytes;
    if (policies && calls === 1) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${which}: expected one Redis limit check with "minute" and "cost-minute" policies${bytes ? ' and "bytes-hour"' : ''}, ` +
          `got RateLimit-Policy: ${String(policy)} and ${calls} script calls`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A gateway counter with an `outcome` label, by outcome. */
async function counterOf<O extends string>(gateway: Gateway, name: string, outcomes: O[]): Promise<Record<O, number>> {
  const text = await (await request(`${gateway.url}/metrics`)).body.text();
  const count = (outcome: string) => Number(new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return Object.fromEntries(outcomes.map((outcome) => [outcome, count(outcome)])) as Record<O, number>;
}

/** `evalsha 1000, get 2` from counts. */
function describe(counts: Map<string, number>): string {
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([command, n]) => `${command} ${n}`)
      .join(', ') || 'none'
  );
}

/** The median per command over the runs, commands that averaged at least 0.005 per request. */
function describeMedian(runs: Map<string, number>[]): string {
  const commands = new Set(runs.flatMap((run) => [...run.keys()]));
  const medians = [...commands].map((command) => [command, median(runs.map((run) => run.get(command) ?? 0))] as const);
  return (
    medians
      .filter(([, n]) => n >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .map(([command, n]) => `${command} ${n.toFixed(2)}`)
      .join(', ') || 'none'
  );
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
}
