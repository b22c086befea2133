import type { ScenarioReport } from './report.js';

/** How long and how hard every scenario measures; `bench/options.ts` reads them from flags and env. */
export interface BenchOptions {
  /** One measurement, default 5 s (`--duration 5`, `BENCH_DURATION`). */
  durationMs: number;
  /** Concurrent requests = keep-alive connections, default 32 (`--concurrency`, `BENCH_CONCURRENCY`). */
  concurrency: number;
  /** Traffic thrown away before measuring, per variant, default 1 s (`--warmup 1`, `BENCH_WARMUP`). */
  warmupMs: number;
  /** Measurements per variant, interleaved with the other variants', default 2 (`--rounds`, `BENCH_ROUNDS`). */
  rounds: number;
  /**
   * Gateways (and the `overhead` scenario's bare Apollo server) run compiled JavaScript in plain
   * Node, as `npm start` does, instead of TypeScript under tsx; default false (`--compiled`,
   * `BENCH_COMPILED=1`). Scenarios that start gateway processes honour it and say so in their title.
   */
  compiled: boolean;
}

/**
 * One benchmark: starts what it measures, measures every variant against its baseline in the
 * same run, closes everything it started (also when it fails), and returns what to print.
 */
export interface Scenario {
  /** What `npm run bench -- <name>` selects. */
  name: string;
  /** One line for the scenario list. */
  description: string;
  /** One report, or one per part (a table each: the `limits` scenario measures two concurrencies). */
  run(options: BenchOptions, log: (line: string) => void): Promise<ScenarioReport | ScenarioReport[]>;
}
