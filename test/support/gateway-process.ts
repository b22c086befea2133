import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';

/** What `npm start` runs: the compiled build of src/main.ts (scripts/build.mjs). */
const COMPILED_ENTRY = 'dist/main.js';

/**
 * Node's flags in `npm start` (`node <flags> dist/main.js`, package.json), given to every gateway
 * process here, compiled or not: tests and benchmarks run the heap production runs.
 */
export const START_FLAGS: readonly string[] = (() => {
  const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = start.split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== COMPILED_ENTRY) throw new Error(`package.json start is not "node <flags> ${COMPILED_ENTRY}": ${start}`);
  return words.slice(1, -1);
})();

/** A gateway running in a process of its own, as `npm start` runs it. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit; removes the temp config. */
  close(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface GatewayProcessOptions {
  /** Changes to `config/demo.yaml` before it is written to a temp file. */
  patch?: (config: Record<string, any>) => void;
  redisUrl?: string;
  /** pino level; default `silent`. */
  logLevel?: string;
  env?: Record<string, string>;
  /** Extra Node flags before the entry point (`--cpu-prof` to profile a benchmark's gateway). */
  nodeArgs?: string[];
  /** The entry point, default `src/main.ts` (test/support/faulty-close-main.ts injects close faults). */
  entry?: string;
  /**
   * Run the compiled build (`dist/main.js`, as `npm start` does) in plain Node instead of
   * `src/main.ts` under tsx. The caller builds it first (`node scripts/build.mjs --only server`);
   * not with `entry`.
   */
  compiled?: boolean;
}

/**
 * The real gateway (`src/main.ts`) in a child process on 127.0.0.1, port 0. Separate processes
 * are what multi-instance tests and benchmarks need: instances that share one event loop never
 * stall independently, and a client in the gateway's process is charged for the gateway's work.
 */
export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-process-'));
  const configPath = join(dir, 'config.yaml');
  const config = parse(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
  // Tests and benchmarks measure their own traffic only: no demo history or background requests.
  config.demo = { backfillDays: 0, liveTraffic: false };
  options.patch?.(config);
  await writeFile(configPath, stringify(config));
  if (options.compiled && options.entry) throw new Error('startGatewayProcess: `compiled` runs dist/main.js; it takes no `entry`');
  const entryArgs = options.compiled ? [COMPILED_ENTRY] : ['--import', 'tsx', options.entry ?? 'src/main.ts'];
  const child = spawn(process.execPath, [...START_FLAGS, ...(options.nodeArgs ?? []), ...entryArgs], {
    env: {
      ...process.env,
      // As deployed: vitest sets NODE_ENV=test, and libraries (Apollo's signal handling) act
      // differently under it.
      NODE_ENV: 'production',
      CONFIG_PATH: configPath,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: options.logLevel ?? 'silent',
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = () => {
        const match = /GraphQL gateway ready: (http:\/\/\S+)\/graphql/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then(({ code, signal }) => reject(new Error(`gateway process exited (${code ?? signal}) before it was ready:\n${output}`)));
    });
    return {
      url,
      child,
      exited,
      output: () => output,
      async close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const result = await exited;
        await cleanup();
        return result;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await cleanup();
    throw error;
  }
}
