import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess } from '../test/support/gateway-process.js';
import { startTestRedis } from '../test/support/redis-server.js';
import { createLoadGenerator } from './load.js';
import { startBareApolloProcess } from './support/bare-apollo-process.js';
import { prepareCompiled } from './support/compiled.js';
import { processCpuMs } from './open-loop.js';
import { limitsOff, limitsOn, limitsOnNoLease, limitsOnWithBytes } from './scenarios/limits.js';
import { defaultConfig, featuresOff, OVERHEAD_TARGET } from './scenarios/overhead-setup.js';

/**
 * `npx tsx bench/overhead-profile.ts [default|off|bare|limits-off|limits-on|limits-bytes|limits-no-lease] [seconds] [--compiled] [--top N] [--keep file.cpuprofile]`:
 * where a gateway's CPU goes, from a CPU profile of one gateway process (`--cpu-prof`) serving the
 * `overhead` scenario's request at 32 concurrent, in the `overhead` scenario's configurations (or
 * its bare Apollo server), or the `limits` scenario's (the demo config with initech's limits as
 * each of its variants sets them).
 * Prints the process's CPU per request (/proc) and the self time of the busiest functions and
 * of each group (our rooms under src/, each package, Node's internals, GC), as shares of the busy
 * samples: a share within one profile does not move when other processes take the machine.
 */
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--top' && args[i - 1] !== '--keep');
const VARIANT = positional[0] ?? 'default';
const SECONDS = Number(positional[1] ?? 10);
const TOP = Number(args[args.indexOf('--top') + 1] ?? 40) || 40;
const PATCHES: Record<string, (config: Record<string, any>) => void> = {
  default: defaultConfig,
  off: featuresOff,
  'limits-off': limitsOff,
  'limits-on': limitsOn,
  'limits-bytes': limitsOnWithBytes,
  'limits-no-lease': limitsOnNoLease,
};
if (VARIANT !== 'bare' && !PATCHES[VARIANT]) throw new Error(`variant must be bare or one of ${Object.keys(PATCHES).join(', ')}: ${VARIANT}`);

const redis = await startTestRedis();
const dir = await mkdtemp(join(tmpdir(), 'overhead-profile-'));
try {
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const compiled = flag('--compiled');
  if (compiled) await prepareCompiled(console.log);
  const server =
    VARIANT === 'bare'
      ? await startBareApolloProcess({ nodeArgs, compiled })
      : await startGatewayProcess({ redisUrl: redis.url, nodeArgs, patch: PATCHES[VARIANT], compiled }).then((gateway) => ({
          url: gateway.url,
          pid: gateway.child.pid!,
          close: () => gateway.close(),
        }));
  const load = createLoadGenerator({ origin: server.url, ...OVERHEAD_TARGET }, { concurrency: 32 });
  await load.run({ durationMs: 3000 }); // warm-up
  // V8 stamps samples with the monotonic clock (µs) that process.hrtime reads: only the measured run's count.
  const window = { from: Number(process.hrtime.bigint() / 1000n), to: 0 };
  const cpuBefore = await processCpuMs(server.pid);
  const result = await load.run({ durationMs: SECONDS * 1000 });
  const cpuMs = (await processCpuMs(server.pid)) - cpuBefore;
  window.to = Number(process.hrtime.bigint() / 1000n);
  await load.close();
  await server.close(); // the profile is written as the process exits
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const usPerRequest = (cpuMs * 1000) / Math.max(1, result.requests);
  const keep = args.indexOf('--keep');
  if (keep >= 0) {
    await copyFile(join(dir, file), args[keep + 1]!); // for Chrome DevTools or speedscope
    // The measured run's bounds and CPU per request beside it, so that two kept profiles can be compared on the run alone.
    await writeFile(`${args[keep + 1]!}.run.json`, JSON.stringify({ ...window, usPerRequest, requests: result.requests }));
  }
  console.log(
    `${VARIANT}${compiled ? ' (compiled)' : ' (tsx)'}: ${result.requests} requests, ${result.errors} errors, ` +
      `server CPU ${usPerRequest.toFixed(1)} µs per request (/proc, profiler included)`,
  );
  printProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile, window, usPerRequest);
} finally {
  await rm(dir, { recursive: true, force: true });
  await redis.stop();
}

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string; lineNumber: number } }[];
  samples: number[];
  /** µs: the first sample's time is startTime + timeDeltas[0], each next one adds its delta. */
  startTime: number;
  timeDeltas: number[];
}

/** The group a frame's self time is counted in: `src/<room>`, a package, node internals or a V8 pseudo-frame. */
function groupOf(url: string, functionName: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/(src|dist)\/([^/]+)\//.exec(url);
  if (src) return `src/${src[2]}`;
  if (url.startsWith('node:')) return url.split('/')[0]!.replace(/^node:internal.*/, 'node:internal');
  return url === '' ? functionName : 'other';
}

function printProfile(profile: CpuProfile, window: { from: number; to: number }, usPerRequest: number): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  let outside = 0;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i]!;
    if (at < window.from || at > window.to) {
      outside++;
      continue;
    }
    const { url, functionName, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy++;
    const group = groupOf(url, functionName);
    groups.set(group, (groups.get(group) ?? 0) + 1);
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|dist)\//, '$1/')}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + 1);
  }
  // The µs column spreads the process's CPU per request by share: an estimate (the profile samples
  // the main thread; /proc counts GC and libuv threads too), for comparing two profiles.
  const share = (n: number) => `${((100 * n) / busy).toFixed(2).padStart(6)}% ${((usPerRequest * n) / busy).toFixed(1).padStart(6)} µs`;
  if (outside === profile.samples.length) throw new Error('no sample inside the measured run: the profile clock is not process.hrtime');
  console.log(`${busy} busy samples in the measured run (${outside} before or after it left out); self time by group (share, ≈ µs per request):`);
  for (const [name, n] of [...groups].sort((a, b) => b[1] - a[1])) if (n / busy >= 0.002) console.log(`  ${share(n)}  ${name}`);
  console.log(`top ${TOP} functions by self time:`);
  for (const [name, n] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${share(n)}  ${name}`);
}
