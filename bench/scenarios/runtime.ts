import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { measureServersAt, type ServerUnderTest, type VariantResult } from '../measure.js';
import type { ScenarioReport } from '../report.js';
import type { BenchOptions, Scenario } from '../scenario.js';
import { startBareApolloProcess } from '../support/bare-apollo-process.js';
import { prepareCompiled } from '../support/compiled.js';
import { defaultConfig, OVERHEAD_QUERY, OVERHEAD_TARGET, probe } from './overhead-setup.js';

/**
 * What the compiled build changes (issue 21): the same gateway (the `overhead` scenario's default
 * configuration, sharing one private redis-server) as `npm run dev` runs it (src/main.ts under
 * tsx) and as `npm start` runs it (dist/main.js in plain Node), and the bare Apollo server both
 * ways, so the `overhead` ratio can be read under either runtime. Four processes, interleaved, at
 * concurrency 1 and `--concurrency`; the baseline is the gateway under tsx. No target: it
 * reports (verdict always MET unless requests fail).
 */
export const runtimeScenario: Scenario = {
  name: 'runtime',
  description: 'the compiled build (npm start) against tsx (npm run dev): the default-config gateway and the bare Apollo server both ways, in one run',
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      await prepareCompiled(log);
      const redisServer = await startTestRedis();
      cleanups.push(() => redisServer.stop());
      const gateway = (compiled: boolean) => startGatewayProcess({ redisUrl: redisServer.url, compiled, patch: defaultConfig });
      const started = await Promise.allSettled([
        gateway(false),
        gateway(true),
        startBareApolloProcess({ compiled: false }),
        startBareApolloProcess({ compiled: true }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.close());
      const [tsxGateway, compiledGateway, tsxBare, compiledBare] = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value;
      });
      const pidOf = (g: GatewayProcess) => g.child.pid!;
      const servers: ServerUnderTest[] = [
        { name: 'gateway, tsx', url: tsxGateway!.url, pid: pidOf(tsxGateway as GatewayProcess) },
        { name: 'gateway, compiled', url: compiledGateway!.url, pid: pidOf(compiledGateway as GatewayProcess) },
        { name: 'bare, tsx', url: tsxBare!.url, pid: (tsxBare as { pid: number }).pid },
        { name: 'bare, compiled', url: compiledBare!.url, pid: (compiledBare as { pid: number }).pid },
      ];
      log(`redis-server ${redisServer.url}; ${servers.map((s) => `${s.name} ${s.url}`).join('; ')}`);
      for (const server of servers) await probe(server);
      const reports: ScenarioReport[] = [];
      for (const concurrency of [...new Set([1, options.concurrency])]) reports.push(await measureAt(concurrency, servers, options, log, cleanups));
      return reports;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

async function measureAt(
  concurrency: number,
  servers: ServerUnderTest[],
  options: BenchOptions,
  log: (line: string) => void,
  cleanups: (() => Promise<unknown>)[],
): Promise<ScenarioReport> {
  const { results, cpuPerRequestUs: cpu } = await measureServersAt(servers, OVERHEAD_TARGET, concurrency, options, log, cleanups);
  const [gatewayTsx, gatewayCompiled, bareTsx, bareCompiled] = results as [VariantResult, VariantResult, VariantResult, VariantResult];
  const compare = (compiled: VariantResult, tsx: VariantResult) =>
    `throughput ${(compiled.median.throughput / tsx.median.throughput).toFixed(3)}x, p50 ${compiled.median.p50 - tsx.median.p50 >= 0 ? '+' : ''}${(compiled.median.p50 - tsx.median.p50).toFixed(3)} ms, ` +
    `CPU per request ${cpu(compiled.name).toFixed(1)} against ${cpu(tsx.name).toFixed(1)} µs (${(cpu(compiled.name) / cpu(tsx.name)).toFixed(2)}x)`;
  const overhead = (gateway: VariantResult, bare: VariantResult) =>
    `throughput ${(gateway.median.throughput / bare.median.throughput).toFixed(3)}x the bare server's, CPU per request ${(cpu(gateway.name) / cpu(bare.name)).toFixed(2)}x`;
  return {
    title: `runtime: "${OVERHEAD_QUERY}" as initech (enterprise), default config, ${concurrency} concurrent`,
    baseline: gatewayTsx.name,
    variants: results,
    notes: [
      `gateway, compiled against tsx: ${compare(gatewayCompiled, gatewayTsx)}`,
      `bare Apollo, compiled against tsx: ${compare(bareCompiled, bareTsx)}`,
      `the overhead scenario's ratio under tsx: ${overhead(gatewayTsx, bareTsx)}; compiled: ${overhead(gatewayCompiled, bareCompiled)}`,
      `server CPU per request (/proc, user + system, median of runs): ${results.map((r) => `${r.name} ${cpu(r.name).toFixed(1)} µs`).join(', ')}`,
    ],
    verdict: { met: true, line: 'no target: what the compiled build changes, reported' },
  };
}
