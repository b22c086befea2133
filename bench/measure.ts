import { createLoadGenerator, type LoadResult, type LoadTarget } from './load.js';
import { processCpuMs } from './open-loop.js';
import type { BenchOptions } from './scenario.js';

/** One way of serving the same traffic: the baseline, or the feature under test. */
export interface Variant {
  name: string;
  /** One closed-loop run against this variant (usually `LoadGenerator.run`, maybe wrapped). */
  run(durationMs: number, phase: 'warmup' | 'measure'): Promise<LoadResult>;
}

export interface VariantResult {
  name: string;
  /** Every measured run, in the order they ran (warm-up excluded). */
  runs: LoadResult[];
  /** Median of the runs, field by field; `requests` and `errors` are totals over the runs. */
  median: LoadResult;
}

/**
 * Warms up every variant, then measures them interleaved, `rounds` times, in the order
 * `roundOrder` gives each round: with variants [off, on] and 4 rounds, off, on, on, off, off, on,
 * on, off. Interleaving spreads slow moments of a noisy machine over all variants instead of
 * charging them to whichever ran then; changing the order cancels the edge a position in the
 * round gives (in a metering run the second variant was faster in every round, whichever it was).
 */
export async function measureInterleaved(variants: readonly Variant[], options: BenchOptions, log: (line: string) => void): Promise<VariantResult[]> {
  for (const variant of variants) {
    if (options.warmupMs > 0) {
      log(`warm-up   ${variant.name} (${options.warmupMs / 1000} s)`);
      await variant.run(options.warmupMs, 'warmup');
    }
  }
  const runs = variants.map(() => [] as LoadResult[]);
  for (let round = 1; round <= options.rounds; round++) {
    for (const i of roundOrder(variants.length, round)) {
      const variant = variants[i]!;
      const result = await variant.run(options.durationMs, 'measure');
      log(
        `round ${round}/${options.rounds} ${variant.name.padEnd(12)} ${Math.round(result.throughput)} req/s, ` +
          `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.errors ? `, ${result.errors} ERRORS` : ''}`,
      );
      runs[i]!.push(result);
    }
  }
  return variants.map((variant, i) => ({ name: variant.name, runs: runs[i]!, median: medianOf(runs[i]!) }));
}

/**
 * The order of round `round` (from 1) of `n` variants, as indexes: a Williams design. Over each
 * cycle of rounds (n of them, 2n for an odd n) every variant runs in every position of a round
 * equally often and, for an even n, right after every other variant once. Reversing every other
 * round did that for two variants only: with four, the first and last variants stayed at the
 * edges of every round and the middle two in the middle. On 7 December the edge positions measured
 * 3-24 % fewer requests a second than the middle ones at 32 concurrent (medians by position, two
 * `tracing` runs), and the baseline's copy in the middle had a p99 0.83x the baseline's own.
 */
export function roundOrder(n: number, round: number): number[] {
  // First row 0, 1, n-1, 2, n-2, ...; row r adds r (mod n); an odd n also runs each row reversed.
  const first: number[] = [0];
  for (let low = 1, high = n - 1; first.length < n; ) first.push(first.length % 2 === 1 ? low++ : high--);
  const cycle = n % 2 === 0 ? n : 2 * n;
  const at = (round - 1) % cycle;
  const row = first.map((variant) => (variant + at) % n);
  return at < n ? row : first.map((variant) => (variant + at - n) % n).reverse();
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianOf(runs: readonly LoadResult[]): LoadResult {
  const statuses: Record<number, number> = {};
  for (const run of runs) {
    for (const [status, count] of Object.entries(run.statuses)) statuses[Number(status)] = (statuses[Number(status)] ?? 0) + count;
  }
  const firstError = runs.find((run) => run.firstError !== undefined)?.firstError;
  const of = (field: 'durationMs' | 'throughput' | 'p50' | 'p90' | 'p99' | 'max') => median(runs.map((run) => run[field]));
  return {
    requests: runs.reduce((sum, run) => sum + run.requests, 0),
    durationMs: of('durationMs'),
    throughput: of('throughput'),
    p50: of('p50'),
    p90: of('p90'),
    p99: of('p99'),
    max: of('max'),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    statuses,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** The unmeasured run a replica gets before each measured one (ms, at most a third of the run). */
const REWARM_MS = 500;

/** A server in a process of its own, measured by `measureServersAt`. */
export interface ServerUnderTest {
  name: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Its process, for its CPU time (/proc). */
  pid: number;
  /**
   * More processes serving the same way, if any: the measured runs go round them in turn. Two
   * processes started alike differ by a few percent in throughput and CPU, and their p99 by up to
   * 14 % (measured with four identical gateways), for as long as they live; a result of several
   * averages that out instead of handing one process's luck to the variant.
   */
  replicas?: readonly { url: string; pid: number }[];
}

/** A server served by `processes` (at least one): the first, and the others as its replicas. */
export function replicated(name: string, processes: readonly { url: string; pid: number }[]): ServerUnderTest {
  const [first, ...replicas] = processes;
  if (!first) throw new Error(`${name}: no process to measure`);
  return { name, url: first.url, pid: first.pid, replicas };
}

export interface ServersMeasured {
  /** One per server, in the order given. */
  results: VariantResult[];
  /** The server process's CPU time (user + system, /proc) per request, µs: median over its measured runs. */
  cpuPerRequestUs(name: string): number;
  /** The same per measured run, in round order. */
  cpuRunsUs(name: string): readonly number[];
  /** Requests sent to the server at this concurrency, warm-ups included (to divide what it exported). */
  sent(name: string): number;
}

/**
 * Every server at `concurrency` (a closed-loop load generator per process, closed by `cleanups`),
 * interleaved by `measureInterleaved`, with each server process's CPU per request: what a busy
 * machine disturbs much less than latency or throughput. A server with replicas warms each up
 * and measures them in turn.
 */
export async function measureServersAt(
  servers: readonly ServerUnderTest[],
  target: Omit<LoadTarget, 'origin'>,
  concurrency: number,
  options: BenchOptions,
  log: (line: string) => void,
  cleanups: (() => Promise<unknown>)[],
): Promise<ServersMeasured> {
  log(`-- concurrency ${concurrency}`);
  const cpuPerRequest = new Map<string, number[]>();
  const sent = new Map<string, number>();
  const variant = (server: ServerUnderTest): Variant => {
    const processes = [server, ...(server.replicas ?? [])].map(({ url, pid }) => {
      const load = createLoadGenerator({ origin: url, ...target }, { concurrency });
      cleanups.push(() => load.close());
      return { load, pid };
    });
    const cpu: number[] = [];
    cpuPerRequest.set(server.name, cpu);
    let turn = 0;
    const runOn = async ({ load, pid }: (typeof processes)[number], durationMs: number, phase: 'warmup' | 'measure') => {
      const before = await processCpuMs(pid);
      const result = await load.run({ durationMs });
      sent.set(server.name, (sent.get(server.name) ?? 0) + result.requests);
      if (phase === 'measure') cpu.push((((await processCpuMs(pid)) - before) * 1000) / Math.max(1, result.requests));
      return result;
    };
    return {
      name: server.name,
      async run(durationMs, phase) {
        if (phase === 'measure') {
          const process = processes[turn++ % processes.length]!;
          // Idle for the other processes' runs (several seconds with replicas), a process cools down:
          // V8's idle-time GC and code flushing. Under real traffic it never idles, so it is warmed
          // again, unmeasured, first.
          if (processes.length > 1) await runOn(process, Math.min(REWARM_MS, durationMs / 3), 'warmup');
          return runOn(process, durationMs, phase);
        }
        let warmed: LoadResult | undefined;
        for (const process of processes) warmed = await runOn(process, durationMs, phase);
        return warmed!;
      },
    };
  };
  const results = await measureInterleaved(servers.map(variant), options, log);
  return {
    results,
    cpuPerRequestUs: (name) => median(cpuPerRequest.get(name) ?? [0]),
    cpuRunsUs: (name) => cpuPerRequest.get(name) ?? [],
    sent: (name) => sent.get(name) ?? 0,
  };
}
