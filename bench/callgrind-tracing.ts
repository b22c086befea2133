import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../src/config/demo.js';
import { startTestRedis } from '../test/support/redis-server.js';

/**
 * `npx tsx bench/callgrind-tracing.ts [requests] [variant]`: instructions per request of the gateway with
 * tracing off, on at 10% and on at 100%, counted by valgrind's callgrind rather than timed, so a
 * machine busy with other work does not change the figure (a timed bench did, by ±50%, on a 2-core
 * machine at load 16). Each variant is a gateway process under callgrind; after a warm-up (so the
 * JIT has compiled the request path), its counters are zeroed, `requests` requests are sent one
 * at a time, and the counters dumped: every instruction the process ran in between, timers and
 * background work included, over the requests. Slow (minutes): valgrind runs the process ~50x slower.
 */
const REQUESTS = Number(process.argv[2] ?? 200);
/** Only the variants whose name contains this (`off`, `10%`, `100%`): to run them in separate processes. */
const ONLY = process.argv[3] ?? '';
const WARMUP = 100;
const QUERY = '{ viewer { tenant { displayName } } dashboard { customerCount recentOrders { id total { formatted } customer { name } } } }';

const redis = await startTestRedis();
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
const traced = (ratio: number) => ({
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: String(ratio),
});
const variants: [string, Record<string, string>][] = [
  ['tracing off', {}],
  ['tracing on, 10% sampled', traced(0.1)],
  ['tracing on, 100% sampled', traced(1)],
];

try {
  // One after the other; on a busy machine, separate processes (the variant argument) finish sooner in all.
  for (const [name, env] of variants.filter(([name]) => name.includes(ONLY)))
    console.log(`${name}: ${(await instructionsPerRequest(env)).toLocaleString('en')} instructions per request`);
} finally {
  await redis.stop();
  sink.close();
}

async function instructionsPerRequest(env: Record<string, string>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'callgrind-tracing-'));
  const config = parse(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
  config.demo = { backfillDays: 0, liveTraffic: false };
  // Limits the run never reaches, but checked on Redis on every request.
  config.plans.enterprise.limits = { ...config.plans.enterprise.limits, requestsPerMinute: 100_000_000, costPerMinute: 1_000_000_000 };
  await writeFile(join(dir, 'config.yaml'), stringify(config));
  const out = join(dir, 'callgrind.out');
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      ...env,
      NODE_ENV: 'production',
      CONFIG_PATH: join(dir, 'config.yaml'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await readyUrl(child);
    const send = async () => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` },
        body: JSON.stringify({ query: QUERY }),
      });
      const text = await response.text();
      if (response.status !== 200 || text.includes('"errors"')) throw new Error(`request failed: ${response.status} ${text.slice(0, 200)}`);
    };
    for (let i = 0; i < WARMUP; i++) await send();
    await control(child.pid!, '--zero');
    for (let i = 0; i < REQUESTS; i++) await send();
    await control(child.pid!, '--dump');
    const dumped = await readFile(`${out}.1`, 'utf8').catch(() => readFile(out, 'utf8'));
    const total = /^summary:\s+(\d+)/m.exec(dumped) ?? /^totals:\s+(\d+)/m.exec(dumped);
    if (!total) throw new Error('no total in the callgrind dump');
    return Math.round(Number(total[1]) / REQUESTS);
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function readyUrl(child: ChildProcess): Promise<string> {
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL gateway ready: (http:\/\/\S+)\/graphql/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway under valgrind exited (${code}) before it was ready:\n${output}`)));
  });
}

/** `callgrind_control` on the process: `--zero` the counters, `--dump` them to a file. */
function control(pid: number, command: '--zero' | '--dump'): Promise<void> {
  return new Promise((resolve, reject) => {
    const run = spawn('callgrind_control', [command, String(pid)], { stdio: 'ignore' });
    run.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`callgrind_control ${command} exited ${code}`))));
  });
}
