import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_TOKENS } from '../src/config/demo.js';
import { startGatewayProcess } from '../test/support/gateway-process.js';
import { startTestRedis } from '../test/support/redis-server.js';
import { createLoadGenerator } from './load.js';
import { processCpuMs } from './open-loop.js';
import { prepareCompiled } from './support/compiled.js';

/**
 * `npx tsx bench/tracing-profile.ts [ratio|off] [seconds]`: what share of a gateway's CPU goes to
 * tracing, from a CPU profile of one gateway process (`--cpu-prof`) under 8 concurrent requests of
 * the `tracing` scenario's query. A share within one profile does not move when other processes
 * take the machine, where a latency or a CPU time compared across processes does (by 2x on the
 * shared 2-core machine). Self time only: OpenTelemetry's packages, src/tracing, Node's
 * async_hooks (AsyncLocalStorage, the context) and diagnostics_channel; the native side of the
 * promise hooks AsyncLocalStorage turns on is not attributed, so this is a lower bound.
 */
const RATIO = process.argv[2] ?? '0.1';
const SECONDS = Number(process.argv[3] ?? 15);
const QUERY = '{ viewer { tenant { displayName } } dashboard { customerCount recentOrders { id total { formatted } customer { name } } } }';

const redis = await startTestRedis();
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const dir = await mkdtemp(join(tmpdir(), 'tracing-profile-'));
try {
  const env: Record<string, string> =
    RATIO === 'off'
      ? {}
      : {
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: RATIO,
        };
  const compiled = process.argv.includes('--compiled');
  if (compiled) await prepareCompiled(console.log);
  const gateway = await startGatewayProcess({
    redisUrl: redis.url,
    compiled,
    env,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    // Limits the run never reaches, checked on Redis on every request.
    patch: (config) => {
      config.plans.enterprise.limits = { ...config.plans.enterprise.limits, requestsPerMinute: 100_000_000, costPerMinute: 1_000_000_000 };
    },
  });
  const load = createLoadGenerator(
    {
      origin: gateway.url,
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
      body: JSON.stringify({ query: QUERY }),
    },
    { concurrency: 8 },
  );
  await load.run({ durationMs: 3000 }); // warm-up
  // V8 stamps samples with the monotonic clock (µs) that process.hrtime reads.
  const window = { from: Number(process.hrtime.bigint() / 1000n), to: 0 };
  const cpuBefore = await processCpuMs(gateway.child.pid!);
  const result = await load.run({ durationMs: SECONDS * 1000 });
  const usPerRequest = (((await processCpuMs(gateway.child.pid!)) - cpuBefore) * 1000) / Math.max(1, result.requests);
  window.to = Number(process.hrtime.bigint() / 1000n);
  await load.close();
  await gateway.close(); // the profile is written as the process exits
  // One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): thread 0 is the
  // main thread; with OTLP on, the export thread (src/tracing/worker-exporter.ts) writes another.
  const threadOf = (name: string) => Number(name.split('.').at(-3));
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  const file = files.find((name) => threadOf(name) === 0);
  if (!file) throw new Error('no .cpuprofile of the main thread written');
  const keep = process.argv.indexOf('--keep');
  if (keep >= 0) {
    // For comparing two runs function by function (the measured run's bounds and CPU per request beside it).
    await copyFile(join(dir, file), process.argv[keep + 1]!);
    await writeFile(`${process.argv[keep + 1]!}.run.json`, JSON.stringify({ ...window, usPerRequest, requests: result.requests }));
    for (const other of files.filter((name) => name !== file))
      await copyFile(join(dir, other), `${process.argv[keep + 1]!}.thread${threadOf(other)}.cpuprofile`);
  }
  const main = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
  const perRequest = (profile: CpuProfile) => (busyUs(profile, window) / Math.max(1, result.requests)).toFixed(1);
  printShares(main, `${RATIO === 'off' ? 'tracing off' : `sampled ${RATIO}`}: ${result.requests} requests; main thread`);
  // The main thread is the bottleneck at saturation: its own busy time, beside the whole process's CPU.
  console.log(`main thread busy ${perRequest(main)} µs per request in the measured run; whole process CPU ${usPerRequest.toFixed(1)} µs per request`);
  for (const other of files.filter((name) => name !== file)) {
    const profile = JSON.parse(await readFile(join(dir, other), 'utf8')) as CpuProfile;
    printShares(profile, `thread ${threadOf(other)}`);
    console.log(`thread ${threadOf(other)} busy ${perRequest(profile)} µs per request in the measured run`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
  sink.close();
}

/**
 * The thread's time not idle between `from` and `to` (µs, the clock of the samples' stamps): each
 * sample stands for the time since the one before it.
 */
function busyUs(profile: CpuProfile, { from, to }: { from: number; to: number }): number {
  const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
  let at = profile.startTime;
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i]!;
    at += delta;
    if (at >= from && at <= to && !idle.has(profile.samples[i]!)) busy += delta;
  }
  return busy;
}

interface CpuProfile {
  startTime: number;
  timeDeltas: number[];
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
}

function printShares(profile: CpuProfile, title: string): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const buckets = new Map<string, number>();
  for (const id of profile.samples) {
    const { url, functionName } = byId.get(id)!.callFrame;
    const bucket = url.includes('@opentelemetry/')
      ? `@opentelemetry/${url.split('@opentelemetry/')[1]!.split('/')[0]}`
      : url.includes('/src/tracing/')
        ? 'src/tracing'
        : url.includes('diagnostics_channel')
          ? 'node:diagnostics_channel'
          : url.includes('async_hooks') || url.includes('async_context')
            ? 'node:async_hooks (AsyncLocalStorage)'
            : functionName === '(idle)'
              ? '(idle)'
              : functionName === '(garbage collector)'
                ? '(garbage collector)'
                : 'everything else';
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
  }
  const busy = profile.samples.length - (buckets.get('(idle)') ?? 0);
  buckets.delete('(idle)');
  // The collector's share is everybody's: compared between runs (off, on), not counted as tracing's.
  const tracing = [...buckets].filter(([name]) => name !== 'everything else' && name !== '(garbage collector)').reduce((sum, [, n]) => sum + n, 0);
  console.log(`${title}; ${busy} busy samples; tracing's share ${((100 * tracing) / busy).toFixed(2)}%`);
  for (const [name, n] of [...buckets].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(40)} ${((100 * n) / busy).toFixed(2)}%`);
}
