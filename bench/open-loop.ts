import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadResultOf, type LoadResult, type LoadTarget } from './load.js';

/** A request that takes longer than this (10 s) fails instead of being waited for. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * An open loop: `ratePerSecond` requests a second, each sent on schedule whether or not the
 * previous ones were answered (a client with its own pace, not one that waits for the server):
 * queueing in the server shows up in the latencies instead of slowing the sender down.
 * Latency is counted from the scheduled send time, so a sender delayed by a busy machine does not
 * hide the delay (coordinated omission).
 */
export async function openLoop(target: LoadTarget, options: { ratePerSecond: number; durationMs: number; connections?: number }): Promise<LoadResult> {
  const pool = new Pool(target.origin, {
    connections: options.connections ?? 64,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  const intervalMs = 1000 / options.ratePerSecond;
  const count = Math.max(1, Math.floor(options.durationMs / intervalMs));
  const start = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const scheduled = start + i * intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(
      (async () => {
        try {
          const response = await pool.request({ method: 'POST', path: target.path, headers: target.headers, body: target.body });
          const body = await response.body.text();
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode !== 200 || (target.isSuccess && !target.isSuccess(body))) {
            errors++;
            firstError ??= `HTTP ${response.statusCode}: ${body.slice(0, 300)}`;
          } else {
            latencies.push(performance.now() - scheduled);
          }
        } catch (error) {
          errors++;
          firstError ??= `network error: ${(error as Error).message}`;
        }
      })(),
    );
  }
  await Promise.all(sends);
  await pool.close();
  const durationMs = performance.now() - start;
  return loadResultOf(latencies, { requests: count, durationMs, errors, statuses, ...(firstError === undefined ? {} : { firstError }) });
}

/** What a closed-loop flood got: every status counted, none of them an error (refusals are the point). */
export interface FloodResult {
  requests: number;
  durationMs: number;
  statuses: Record<number, number>;
  networkErrors: number;
}

/**
 * A retry loop: `connections` workers, each sending again as soon as its answer is read,
 * until `stop()` is called. Returns once every worker has stopped.
 */
export function flood(target: LoadTarget, connections: number): { stop(): Promise<FloodResult> } {
  const pool = new Pool(target.origin, { connections, pipelining: 1, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  const statuses: Record<number, number> = {};
  let requests = 0;
  let networkErrors = 0;
  let running = true;
  const start = performance.now();
  const worker = async () => {
    while (running) {
      requests++;
      try {
        const response = await pool.request({ method: 'POST', path: target.path, headers: target.headers, body: target.body });
        await response.body.dump();
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      } catch {
        networkErrors++;
      }
    }
  };
  const workers = Promise.all(Array.from({ length: connections }, worker));
  return {
    async stop() {
      running = false;
      await workers;
      const durationMs = performance.now() - start;
      await pool.close();
      return { requests, durationMs, statuses, networkErrors };
    },
  };
}

/**
 * `flood` in a child process (bench/support/flood-process.ts), so that the flooding client's own
 * CPU does not delay the measured client in this process.
 */
export async function floodInChild(target: LoadTarget, connections: number): Promise<{ stop(): Promise<FloodResult> }> {
  const child = fork(fileURLToPath(new URL('./support/flood-process.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`flood process exited with ${code}`)));
    });
  const started = next();
  child.send({ target, connections });
  await started;
  return {
    async stop() {
      const result = next();
      child.send('stop');
      return (await result) as FloodResult;
    },
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses): utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** `getconf CLK_TCK` on Linux: 100 on every mainstream kernel configuration. */
const CLOCK_TICKS_PER_SECOND = 100;
