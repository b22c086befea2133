import { startGatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { measureServersAt, replicated, type ServerUnderTest, type VariantResult } from '../measure.js';
import { type ScenarioReport, signed } from '../report.js';
import type { BenchOptions, Scenario } from '../scenario.js';
import { prepareCompiled } from '../support/compiled.js';
import { startBareApolloProcess } from '../support/bare-apollo-process.js';
import { defaultConfig, featuresOff, OVERHEAD_QUERY as QUERY, OVERHEAD_TARGET as TARGET, probe } from './overhead-setup.js';

/** Issue 19's targets, each against the bare Apollo server in the same run. */
const TARGETS = {
  /** What the gateway with every feature off may add to a lone request's p50 (ms). */
  featuresOffAddedP50Ms: 0.03,
  /** Its throughput at 32 concurrent over the bare server's. */
  featuresOffThroughput: 0.9,
  /** The default configuration's throughput at 32 over the bare server's. */
  defaultThroughput: 0.8,
} as const;
const LOADED_CONCURRENCY = 32;
/** A server process started for the bench: where it listens, its pid, how to stop it. */
type Started = { url: string; pid: number; close(): Promise<unknown> };
/** Processes per variant: identical processes differ by a few percent in throughput for as long as they live (measure.ts). */
const REPLICAS = 2;
const BARE = 'bare Apollo';
const BARE_AGAIN = 'bare Apollo, again';

/**
 * The gateway's own cost per request (issue 19): the same schema, resolvers, loaders and sample
 * services served by a bare Apollo Server on Fastify (bench/support/bare-apollo-server.ts), by the
 * gateway with every feature off, and by the gateway with the default configuration, each in
 * REPLICAS processes of its own measured in turn, the gateways sharing one private redis-server;
 * and the bare server a second time, to show the instrument's own noise. Measured interleaved at
 * concurrency 1 and at `--concurrency`; the servers' CPU per request from /proc.
 */
export const overheadScenario: Scenario = {
  name: 'overhead',
  description:
    `the gateway's own cost against a bare Apollo on Fastify (targets: features off +p50 <= ${TARGETS.featuresOffAddedP50Ms} ms alone and ` +
    `>= ${TARGETS.featuresOffThroughput}x throughput at ${LOADED_CONCURRENCY}; default config >= ${TARGETS.defaultThroughput}x)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      if (options.compiled) await prepareCompiled(log);
      const redisServer = await startTestRedis();
      cleanups.push(() => redisServer.stop());
      // REPLICAS processes per variant, measured in turn (measure.ts says why), and the bare server
      // twice over: the second against the first is the instrument's own noise, printed beside the verdicts.
      const bare = () => startBareApolloProcess({ compiled: options.compiled });
      const gateway = (patch: typeof featuresOff) => async (): Promise<Started> => {
        const started = await startGatewayProcess({ redisUrl: redisServer.url, compiled: options.compiled, patch });
        return { url: started.url, pid: started.child.pid!, close: () => started.close() };
      };
      const starts: (() => Promise<Started>)[] = [bare, bare, gateway(featuresOff), gateway(defaultConfig)];
      const started = await Promise.allSettled(starts.flatMap((start) => Array.from({ length: REPLICAS }, start)));
      for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.close());
      const processes = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return { url: s.value.url, pid: s.value.pid };
      });
      const servers = [BARE, BARE_AGAIN, 'features off', 'default config'].map((name, i) =>
        replicated(name, processes.slice(i * REPLICAS, (i + 1) * REPLICAS)),
      );
      log(`redis-server ${redisServer.url}; ${servers.map((s) => `${s.name} ${s.url}`).join('; ')}`);
      for (const server of servers) for (const one of [server, ...(server.replicas ?? [])]) await probe({ ...server, ...one });

      const levels = [...new Set([1, options.concurrency])];
      const reports: ScenarioReport[] = [];
      for (const concurrency of levels) reports.push(await measureAt(concurrency, servers, options, log, cleanups));
      return reports;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

/** One table: every server at `concurrency`, interleaved, with the targets stated at that concurrency. */
async function measureAt(
  concurrency: number,
  servers: ServerUnderTest[],
  options: BenchOptions,
  log: (line: string) => void,
  cleanups: (() => Promise<unknown>)[],
): Promise<ScenarioReport> {
  const { results, cpuPerRequestUs: cpu } = await measureServersAt(servers, TARGET, concurrency, options, log, cleanups);
  const [bare, again, off, on] = results as [VariantResult, VariantResult, VariantResult, VariantResult];
  const notes = results.map(
    (r) =>
      `${r.name}: server CPU ${cpu(r.name).toFixed(1)} µs per request (/proc, user + system, median of runs)` +
      (r === bare ? '' : `, ${(cpu(r.name) / cpu(bare.name)).toFixed(2)}x the bare server's`),
  );
  notes.push(
    `the bare server against itself (${again.name}, other processes): throughput ${(again.median.throughput / bare.median.throughput).toFixed(3)}x, ` +
      `p50 ${signed(again.median.p50 - bare.median.p50, 3)} ms: differences of that size are the instrument's noise`,
  );
  const verdicts: string[] = [];
  let met = true;
  if (concurrency === 1) {
    const added = off.median.p50 - bare.median.p50;
    const ok = added <= TARGETS.featuresOffAddedP50Ms;
    met &&= ok;
    verdicts.push(`features off adds ${added.toFixed(3)} ms p50 alone (target <= +${TARGETS.featuresOffAddedP50Ms}: ${ok ? 'MET' : 'NOT MET'})`);
    verdicts.push(`default config adds ${(on.median.p50 - bare.median.p50).toFixed(3)} ms p50 alone (no target)`);
  } else {
    const at = concurrency === LOADED_CONCURRENCY ? '' : ` (stated at ${LOADED_CONCURRENCY})`;
    for (const [result, target] of [
      [off, TARGETS.featuresOffThroughput],
      [on, TARGETS.defaultThroughput],
    ] as const) {
      const ratio = result.median.throughput / bare.median.throughput;
      const ok = ratio >= target;
      met &&= ok;
      verdicts.push(`${result.name} throughput ${ratio.toFixed(3)}x (target >= ${target}${at}: ${ok ? 'MET' : 'NOT MET'})`);
    }
  }
  return {
    title: `overhead: "${QUERY}" as initech (enterprise), ${concurrency} concurrent${options.compiled ? ', compiled build' : ''}`,
    baseline: bare.name,
    variants: results,
    notes,
    verdict: { met, line: verdicts.join('; ') },
  };
}
