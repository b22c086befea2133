import { request } from 'undici';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.js';
import type { LoadResult, LoadTarget } from '../load.js';
import { measureInterleaved, median } from '../measure.js';
import { floodInChild, openLoop, processCpuMs, type FloodResult } from '../open-loop.js';
import type { ScenarioReport } from '../report.js';
import type { BenchOptions, Scenario } from '../scenario.js';
import { startBareRefusalServer } from '../support/bare-refusal-server.js';
import { prepareCompiled } from '../support/compiled.js';

/** Issue 17's targets for the steady tenant while another floods, against its own solo run. */
const TARGETS = { p50Ratio: 1.5, p99Ratio: 2, cpuPerRefusalUs: 50 } as const;
/** The steady tenant's pace (open loop) and the flooder's connections (closed loop: a retry loop). */
const STEADY_PER_SECOND = 50;
const FLOOD_CONNECTIONS = 128;

/**
 * One tenant must never hurt another: an Enterprise tenant sends a steady 50 requests/s (open
 * loop) of a query touching two services, alone and then while a Free tenant floods the same
 * gateway on 128 connections in a closed loop, almost all of it refused (429). The gateway runs in
 * its own process with a private redis-server, as deployed, and the flood in another (a client of
 * its own: in this process its work would delay the measured client's timers and reads). Baseline: the steady tenant alone, in
 * the same run. Also reported: the flooder's refusals per second and the gateway CPU each refusal
 * costs (the process's CPU during a flood run, less a solo run's, over the refusals).
 */
export const noisyNeighbourScenario: Scenario = {
  name: 'noisy-neighbour',
  description: `a steady Enterprise tenant (${STEADY_PER_SECOND} req/s) alone vs while a Free tenant floods on ${FLOOD_CONNECTIONS} connections (targets: p50 <= ${TARGETS.p50Ratio}x, p99 <= ${TARGETS.p99Ratio}x, <= ${TARGETS.cpuPerRefusalUs} µs CPU per refusal)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      if (options.compiled) await prepareCompiled(log);
      const redis = await startTestRedis();
      cleanups.push(() => redis.stop());
      const gateway = await startGatewayProcess({ redisUrl: redis.url, compiled: options.compiled });
      cleanups.push(() => gateway.close());
      log(`redis-server ${redis.url}; gateway ${gateway.url} (pid ${gateway.child.pid})`);
      const steady = await steadyTarget(gateway);
      const flooder: LoadTarget = {
        origin: gateway.url,
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
        body: JSON.stringify({ query: '{ products(first: 5) { name price { formatted } } }' }),
      };

      const floods: { result: FloodResult; cpuMs: number; refused: number; windowMs: number }[] = [];
      const solos: { durationMs: number; cpuMs: number }[] = [];
      const pid = gateway.child.pid!;
      const results = await measureInterleaved(
        [
          {
            name: 'alone',
            async run(durationMs, phase) {
              const cpuBefore = await processCpuMs(pid);
              const result = await openLoop(steady, { ratePerSecond: STEADY_PER_SECOND, durationMs });
              if (phase === 'measure') solos.push({ durationMs: result.durationMs, cpuMs: (await processCpuMs(pid)) - cpuBefore });
              return result;
            },
          },
          {
            name: 'with flood',
            async run(durationMs, phase) {
              const flooding = await floodInChild(flooder, FLOOD_CONNECTIONS);
              // The flood reaches its refusals first (the Free minute runs out), then the steady
              // tenant is measured; the gateway's CPU and refusals are counted over that window only.
              await new Promise((resolve) => setTimeout(resolve, 1000));
              const cpuBefore = await processCpuMs(pid);
              const refusedBefore = await refusalsOf(gateway);
              const result: LoadResult = await openLoop(steady, { ratePerSecond: STEADY_PER_SECOND, durationMs });
              const cpuMs = (await processCpuMs(pid)) - cpuBefore;
              const refused = (await refusalsOf(gateway)) - refusedBefore;
              const floodResult = await flooding.stop();
              if (phase === 'measure') floods.push({ result: floodResult, cpuMs, refused, windowMs: result.durationMs });
              return result;
            },
          },
        ],
        options,
        log,
      );

      // The refusal path's own cost at full speed: a second gateway that answers refusals at once
      // (limits.localRefusalDelayMs 0), flooded alone, its CPU over the refusals it answered.
      const capacity = await refusalCapacity(redis.url, flooder, options, log);
      const floor = await bareRefusalCost(flooder, options.durationMs, log);
      const [alone, withFlood] = results as [(typeof results)[0], (typeof results)[0]];
      const soloCpuPerMs = median(solos.map((s) => s.cpuMs / s.durationMs));
      const perRefusal = floods.map(({ result, cpuMs, refused, windowMs }) => {
        const refusals = result.statuses[429] ?? 0;
        return {
          refusals,
          perSecond: (refused / windowMs) * 1000,
          cpuUs: ((cpuMs - soloCpuPerMs * windowMs) * 1000) / Math.max(1, refused),
          other: result.requests - refusals,
        };
      });
      const cpuUs = capacity.cpuUsPerRefusal;
      const p50Ratio = withFlood.median.p50 / alone.median.p50;
      const p99Ratio = withFlood.median.p99 / alone.median.p99;
      const met = p50Ratio <= TARGETS.p50Ratio && p99Ratio <= TARGETS.p99Ratio && cpuUs <= TARGETS.cpuPerRefusalUs && withFlood.median.errors === 0;
      const report: ScenarioReport = {
        title: `noisy neighbour: steady Enterprise tenant at ${STEADY_PER_SECOND} req/s, alone vs with a Free tenant flooding on ${FLOOD_CONNECTIONS} connections${options.compiled ? ', compiled build' : ''}`,
        baseline: 'alone',
        variants: results,
        verdict: {
          met,
          line: `steady tenant p50 ${p50Ratio.toFixed(2)}x (target <= ${TARGETS.p50Ratio}), p99 ${p99Ratio.toFixed(2)}x (target <= ${TARGETS.p99Ratio}); gateway CPU per refusal ${cpuUs.toFixed(0)} µs (target <= ${TARGETS.cpuPerRefusalUs})`,
        },
        notes: [
          `refusal capacity (a gateway answering refusals at once, flooded on ${FLOOD_CONNECTIONS} connections alone): ${Math.round(capacity.perSecond)} refusals/s using ${capacity.cores.toFixed(2)} cores: ${capacity.cpuUsPerRefusal.toFixed(0)} µs of gateway CPU per refusal, ${Math.round(1e6 / capacity.cpuUsPerRefusal)} refusals/s per core`,
          `the floor on this machine now: a bare node:http server answering the same 429 to the same flood: ${floor.cpuUsPerAnswer.toFixed(0)} µs of CPU per answer (${Math.round(floor.perSecond)}/s); the gateway's refusal costs ${(capacity.cpuUsPerRefusal / floor.cpuUsPerAnswer).toFixed(2)}x that`,
          ...perRefusal.map(
            (r, i) =>
              `flood run ${i + 1}: ${r.refusals} refusals in all, ${r.other} other answers; while measured ${Math.round(r.perSecond)} refusals/s (graphql_throttled_total), ` +
              `${r.cpuUs.toFixed(0)} µs of gateway CPU per refusal at that trickle (the steady tenant's solo CPU, ${(soloCpuPerMs * 1000).toFixed(0)} ms/s, subtracted)`,
          ),
        ],
      };
      return report;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

/** initech's query of one customer and its orders: two services (accounts, orders) per request. */
export async function steadyTarget(gateway: GatewayProcess): Promise<LoadTarget> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` };
  const response = await request(`${gateway.url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: '{ customers(first: 1) { nodes { id } } }' }),
  });
  const body = (await response.body.json()) as { data?: { customers: { nodes: { id: string }[] } } };
  const id = body.data?.customers.nodes[0]?.id;
  if (!id) throw new Error(`no initech customer to query: ${JSON.stringify(body)}`);
  return {
    origin: gateway.url,
    path: '/graphql',
    headers,
    body: JSON.stringify({ query: `{ customer(id: "${id}") { name orders(first: 5) { id total { formatted } } } }` }),
    isSuccess: (text) => text.startsWith('{"data":{"customer":{') && !text.includes('"errors"'),
  };
}

/** Requests the gateway refused so far, every reason and plan (`graphql_throttled_total`, summed). */
async function refusalsOf(gateway: GatewayProcess): Promise<number> {
  const text = await (await request(`${gateway.url}/metrics`)).body.text();
  let sum = 0;
  for (const match of text.matchAll(/^graphql_throttled_total\{[^}]*\} (\d+)/gm)) sum += Number(match[1]);
  return sum;
}

/** Refusals per second and gateway CPU per refusal of a gateway that answers refusals at once, under the flood alone. */
async function refusalCapacity(
  redisUrl: string,
  flooder: LoadTarget,
  { durationMs, compiled }: BenchOptions,
  log: (line: string) => void,
): Promise<{ perSecond: number; cores: number; cpuUsPerRefusal: number }> {
  const gateway = await startGatewayProcess({ redisUrl, compiled, patch: (config) => (config.limits = { ...config.limits, localRefusalDelayMs: 0 }) });
  try {
    const pid = gateway.child.pid!;
    const flooding = await floodInChild({ ...flooder, origin: gateway.url }, FLOOD_CONNECTIONS);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const refusedBefore = await refusalsOf(gateway);
    const cpuBefore = await processCpuMs(pid);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    const cpuMs = (await processCpuMs(pid)) - cpuBefore;
    const windowMs = performance.now() - started;
    const refused = (await refusalsOf(gateway)) - refusedBefore;
    await flooding.stop();
    log(`refusal capacity: ${refused} refusals in ${Math.round(windowMs)} ms, ${Math.round(cpuMs)} ms of gateway CPU`);
    return { perSecond: (refused / windowMs) * 1000, cores: cpuMs / windowMs, cpuUsPerRefusal: (cpuMs * 1000) / Math.max(1, refused) };
  } finally {
    await gateway.close();
  }
}

/** CPU per answer of a bare node:http server answering the flood 429 (bench/support/bare-refusal-server.ts), over the same window. */
async function bareRefusalCost(flooder: LoadTarget, durationMs: number, log: (line: string) => void): Promise<{ perSecond: number; cpuUsPerAnswer: number }> {
  const bare = await startBareRefusalServer();
  try {
    const answered = async () => Number(await (await request(`${bare.url}/count`)).body.text());
    const flooding = await floodInChild({ ...flooder, origin: bare.url }, FLOOD_CONNECTIONS);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = await answered();
    const cpuBefore = await processCpuMs(bare.pid);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    const cpuMs = (await processCpuMs(bare.pid)) - cpuBefore;
    const windowMs = performance.now() - started;
    const count = (await answered()) - before;
    await flooding.stop();
    log(`bare refusal server: ${count} answers in ${Math.round(windowMs)} ms, ${Math.round(cpuMs)} ms of CPU`);
    return { perSecond: (count / windowMs) * 1000, cpuUsPerAnswer: (cpuMs * 1000) / Math.max(1, count) };
  } finally {
    await bare.close();
  }
}
