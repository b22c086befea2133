import { Pool } from 'undici';

/** One request, sent again and again. */
export interface LoadTarget {
  /** `http://127.0.0.1:<port>`: benchmarks only ever send traffic to this machine. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** POST body, sent as is. */
  body: string;
  /**
   * Whether a 200 response's body is a success (default: any 200 is). A GraphQL error comes back
   * as a 200: without a check, a broken query would be measured as a fast one.
   */
  isSuccess?: (body: string) => boolean;
}

export interface LoadResult {
  /** Requests that completed or failed during the measurement, successes and errors together. */
  requests: number;
  /** From the first request sent to the last response read. */
  durationMs: number;
  /** Successful requests per second. */
  throughput: number;
  /** Latency percentiles of successful requests (ms), from the sorted latencies (nearest rank). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Non-200 statuses, 200s that failed `isSuccess`, and network errors. Must be 0 for a valid result. */
  errors: number;
  /** Count per HTTP status; network errors have none. */
  statuses: Record<number, number>;
  /** The first network error or unexpected body, to say why requests failed. */
  firstError?: string;
}

export interface LoadGenerator {
  /** Closed loop for `durationMs`: every worker sends, awaits the full body, records, repeats. */
  run(options: { durationMs: number; maxRequests?: number }): Promise<LoadResult>;
  close(): Promise<void>;
}

/** Hard ceiling on one run's requests (default), whatever the duration: benchmarks stay bounded. */
const MAX_REQUESTS = 2_000_000;
/** A request that takes longer than this (10 s) fails instead of holding its worker forever. */
const REQUEST_TIMEOUT_MS = 10_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A closed-loop load generator: `concurrency` workers on one undici keep-alive `Pool` with as many
 * connections, so each worker has its own connection and the offered load adapts to the server
 * (the next request leaves when the previous answer is read). The pool lives across runs: warm-up
 * and every measurement reuse the same open connections.
 */
export function createLoadGenerator(target: LoadTarget, options: { concurrency: number }): LoadGenerator {
  const origin = new URL(target.origin);
  if (!LOOPBACK.has(origin.hostname)) {
    throw new Error(`benchmarks send traffic only to this machine (127.0.0.1): ${target.origin}`);
  }
  const pool = new Pool(origin.origin, {
    connections: options.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000, // idle connections survive while the other variants are measured
    keepAliveMaxTimeout: 600_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });

  async function run({ durationMs, maxRequests = MAX_REQUESTS }: { durationMs: number; maxRequests?: number }): Promise<LoadResult> {
    const latencies: number[] = [];
    const statuses: Record<number, number> = {};
    let requests = 0;
    let errors = 0;
    let firstError: string | undefined;
    const fail = (reason: string) => {
      errors++;
      firstError ??= reason;
    };

    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(durationMs * 1e6));
    const worker = async () => {
      while (requests < maxRequests && process.hrtime.bigint() < deadline) {
        requests++;
        const sent = process.hrtime.bigint();
        try {
          const response = await pool.request({ method: 'POST', path: target.path, headers: target.headers, body: target.body });
          const body = await response.body.text();
          const latencyMs = Number(process.hrtime.bigint() - sent) / 1e6;
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode !== 200) fail(`HTTP ${response.statusCode}: ${body.slice(0, 300)}`);
          else if (target.isSuccess && !target.isSuccess(body)) fail(`unexpected body: ${body.slice(0, 300)}`);
          else latencies.push(latencyMs);
        } catch (error) {
          fail(`network error: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;

    return loadResultOf(latencies, { requests, durationMs: elapsedMs, errors, statuses, ...(firstError === undefined ? {} : { firstError }) });
  }

  return { run, close: () => pool.close() };
}

/** A run's result from its successful requests' latencies (ms) and its counts: throughput and nearest-rank percentiles. */
export function loadResultOf(
  latencies: readonly number[],
  counts: Pick<LoadResult, 'requests' | 'durationMs' | 'errors' | 'statuses' | 'firstError'>,
): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const percentile = (p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return {
    ...counts,
    throughput: (latencies.length / counts.durationMs) * 1000,
    p50: percentile(50),
    p90: percentile(90),
    p99: percentile(99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  };
}
