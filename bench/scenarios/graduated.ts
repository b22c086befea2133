import { cpus, loadavg } from 'node:os';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import type { Scenario } from '../scenario.js';

const INSTANCES = 4;
/** The Free plan as shipped: 100 requests per rolling minute, a burst zone of 20 held at most 3 s. */
const LIMIT = 100;
const WINDOW_MS = 60_000;
/** At least two and a half windows: the first fills the minute, the next ones show the steady state. */
const MIN_DURATION_MS = 150_000;
const QUERY = JSON.stringify({ query: '{ viewer { clientId } }' });

interface Answer {
  status: number;
  /** When it was admitted to run, store clock: the decision's time plus its hold. */
  admittedAt: number;
  delayedMs: number;
  /** A refusal's reason: its error code and dimension, and who decided (`x-ratelimit-decision`'s source). */
  reason?: string;
}

/**
 * Graduated throttling (issue 17 item 4), on the real minute: 4 gateway processes on one Redis, two
 * tenants on the Free plan's limits each sending at exactly the plan's rate (100 a minute, one
 * every 600 ms, round robin over the instances, open loop): acme with the Free plan's burst zone
 * as shipped (20 requests, 3 s), globex on a copy of the plan without it, in the same run. A sliding
 * window of sub-buckets gives room back a sub-bucket (2 s) at a time, so a client at its exact rate
 * meets a full minute now and then: without a burst zone it gets a 429, with one a short delay.
 * Prints the 429s of each, acme's delays (p50, p99, max), and the most run in any rolling minute
 * (by the store-clock time each request was admitted to run: the decision's time plus its hold),
 * which must not exceed the limit.
 */
export const graduatedScenario: Scenario = {
  name: 'graduated',
  description: 'a client at its plan rate with a burst zone: no 429, only delays; 4 instances never run more than the limit in any rolling minute',
  async run(options, log) {
    const redis = await startTestRedis();
    const gateways: GatewayProcess[] = [];
    try {
      const patch = (config: Record<string, any>) => {
        // A long reply timeout (1 s, as the limits tests use): this measures throttling, not
        // outages, and on a loaded 2-core machine a 50 ms timeout makes local fallback decisions.
        config.limits = { decisionHeader: true, storeTimeoutMs: 1000 };
        const { burst: _none, ...hard } = config.plans.free.limits;
        config.plans['free-without-burst'] = { ...config.plans.free, displayName: 'Free without burst', limits: hard };
        config.tenants.globex.plan = 'free-without-burst';
      };
      for (let i = 0; i < INSTANCES; i++) gateways.push(await startGatewayProcess({ redisUrl: redis.url, patch }));
      const durationMs = Math.max(options.durationMs, MIN_DURATION_MS);
      log(`${INSTANCES} instances, two tenants at ${LIMIT} requests a minute each, ${durationMs / 1000} s`);
      const urls = gateways.map((g) => `${g.url}/graphql`);
      const [withBurst, withoutBurst] = await Promise.all([
        paced(urls, DEMO_TOKENS.acmeAdmin, durationMs, 0),
        paced(urls, DEMO_TOKENS.globexAdmin, durationMs, WINDOW_MS / LIMIT / 2),
      ]);
      return report(withBurst, withoutBurst);
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    }
  },
};

/** One request every WINDOW_MS / LIMIT ms, round robin over `urls`, starting `offsetMs` in. */
async function paced(urls: readonly string[], token: string, durationMs: number, offsetMs: number): Promise<Answer[]> {
  const intervalMs = WINDOW_MS / LIMIT;
  const start = performance.now() + offsetMs;
  const sends: Promise<Answer>[] = [];
  for (let i = 0; i * intervalMs < durationMs; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(send(urls[i % urls.length]!, token));
  }
  return Promise.all(sends);
}

async function send(url: string, token: string): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: QUERY });
  const body = (await response.json()) as {
    extensions?: { throttle?: { delayedMs?: number } };
    errors?: { extensions?: { code?: string; dimension?: string; retryAfterSeconds?: number } }[];
  };
  const delayedMs = body.extensions?.throttle?.delayedMs ?? 0;
  // `x-ratelimit-decision: shared;t=<store-clock ms>` (limits.decisionHeader).
  const decision = response.headers.get('x-ratelimit-decision') ?? '';
  const t = Number(/t=(\d+)/.exec(decision)?.[1] ?? Number.NaN);
  const error = body.errors?.[0]?.extensions;
  const reason = error ? `${error.code}/${error.dimension ?? '-'} by ${decision.split(';')[0] || '?'} (retry ${error.retryAfterSeconds ?? '?'} s)` : undefined;
  return { status: response.status, admittedAt: t + delayedMs, delayedMs, ...(reason ? { reason } : {}) };
}

/** The most admitted in any rolling window (t - W, t]. */
function maxInAnyWindow(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - WINDOW_MS) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

/** How many refusals of each reason. */
function reasons(answers: Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) if (a.reason) counts.set(a.reason, (counts.get(a.reason) ?? 0) + 1);
  return counts.size === 0 ? 'none' : [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function report(withBurst: Answer[], withoutBurst: Answer[]) {
  const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;
  const ran = withBurst.filter((a) => a.status === 200);
  const held = ran.filter((a) => a.delayedMs > 0);
  const delays = held.map((a) => a.delayedMs).sort((a, b) => a - b);
  const mostRun = maxInAnyWindow(ran.map((a) => a.admittedAt));
  const mostRunWithout = maxInAnyWindow(withoutBurst.filter((a) => a.status === 200).map((a) => a.admittedAt));
  const invalid = [...withBurst, ...withoutBurst].filter((a) => Number.isNaN(a.admittedAt) || (a.status !== 200 && a.status !== 429)).length;
  const refusedWithBurst = count(withBurst, 429);
  const met = refusedWithBurst === 0 && mostRun <= LIMIT && mostRunWithout <= LIMIT && invalid === 0;
  return {
    title: `graduated: ${withBurst.length + withoutBurst.length} requests (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`,
    baseline: '',
    variants: [],
    notes: [
      `with the burst zone (acme):    ${ran.length} run, ${refusedWithBurst} refused (429), ${held.length} held`,
      `  delay of a held request:     p50 ${percentile(delays, 0.5)} ms, p99 ${percentile(delays, 0.99)} ms, max ${delays.at(-1) ?? 0} ms (maxDelayMs 3000)`,
      `  most run in any rolling minute: ${mostRun} (limit ${LIMIT})`,
      `without it (globex, same pace): ${count(withoutBurst, 200)} run, ${count(withoutBurst, 429)} refused (429); most run in any rolling minute ${mostRunWithout}`,
      `answers neither 200 nor 429, or without a decision header: ${invalid}`,
      `refusals with the burst zone, by reason: ${reasons(withBurst)}`,
      `refusals without it, by reason: ${reasons(withoutBurst)}`,
    ],
    verdict: {
      met,
      line: met ? 'no 429 for the client within its burst, only delays; never more than the limit in any rolling minute' : 'see the lines above',
    },
  };
}
