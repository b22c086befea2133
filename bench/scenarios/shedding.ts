import { request } from 'undici';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { SERVICE_NAMES } from '../../src/config/schema.js';
import { startSampleServices } from '../../src/sample-services/start.js';
import { startGatewayProcess } from '../../test/support/gateway-process.js';
import { createLoadGenerator, type LoadTarget } from '../load.js';
import { measureInterleaved, type Variant, type VariantResult } from '../measure.js';
import type { Scenario } from '../scenario.js';
import { createOpenLoop, type OpenLoopCounts } from '../support/open-loop.js';

/** Issue 17's targets for queries that do not touch the failing service, against normal in the same run. */
const TARGETS = { p50: 1.2, p99: 1.5 } as const;
/** Catalog's latency when healthy (ms); "10x slow" is ten times this. */
const CATALOG_MS = 20;
/** The other traffic: catalog queries of another tenant, open loop (requests per second). */
const BACKGROUND_PER_SECOND = 200;
/** Longest wait for catalog's breaker and limit to recover after a fault variant, ms. */
const SETTLE_MS = 8000;
/**
 * Catalog's limit counted as recovered: twice what the other traffic keeps in flight
 * (200/s x 20 ms = 4). It does not climb back to 64 under that traffic, by design: the limit
 * grows only while at least half its slots are used (src/downstream/adaptive-limit.ts).
 */
const RECOVERED_LIMIT = 8;

/** Measured: initech (Enterprise), accounts only. */
const MEASURED_QUERY = '{ customer(id: "cus_1") { id name } }';
const EXPECTED_PREFIX = '{"data":{"customer":{"id":"cus_1"';
/** Other traffic: globex (Pro), catalog only. */
const BACKGROUND_QUERY = '{ product(id: "prd_1") { id name } }';

const CATALOG_STATES = {
  normal: { latencyMs: CATALOG_MS },
  'catalog failing fast': { errorRate: 1 },
  'catalog 10x slow': { latencyMs: 10 * CATALOG_MS },
} as const;
type VariantName = keyof typeof CATALOG_STATES;

/**
 * Queries that touch only accounts, measured (closed loop, `--concurrency`) while another tenant
 * queries catalog at a steady 200 requests/s (open loop), with catalog healthy (baseline),
 * failing fast (every call answered 500 at once: the breaker opens, and the adaptive limit
 * halves per window) and 10x slow (20 -> 200 ms: the adaptive limit falls to its floor and the
 * callers over it are refused at once). One gateway process (src/main.ts), no Redis, limits and
 * cache off for both tenants so every request reaches its service; the sample services run in
 * the bench process with knobs set directly.
 */
export const sheddingScenario: Scenario = {
  name: 'shedding',
  description: `accounts-only queries while catalog fails fast or is 10x slow under other traffic (targets: p50 <= ${TARGETS.p50}x, p99 <= ${TARGETS.p99}x of normal)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const sample = await startSampleServices();
      cleanups.push(() => sample.close());
      const catalog = sample.services.catalog;
      catalog.setKnobs(CATALOG_STATES.normal);
      const gateway = await startGatewayProcess({
        patch: (config) => {
          config.downstream = Object.fromEntries(SERVICE_NAMES.map((name) => [name, { url: sample.urls[name], breaker: { halfOpenAfterMs: 1000 } }]));
          config.plans.enterprise.limits = {};
          config.plans.pro.limits = {};
          config.cache = { enabled: false };
        },
      });
      cleanups.push(() => gateway.close());
      log(`gateway ${gateway.url} (pid ${gateway.child.pid}); sample services in this process; catalog ${CATALOG_MS} ms when healthy`);

      const target = (token: string, query: string): LoadTarget => ({
        origin: gateway.url,
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      const load = createLoadGenerator(
        { ...target(DEMO_TOKENS.initechAdmin, MEASURED_QUERY), isSuccess: (text) => text.startsWith(EXPECTED_PREFIX) && !text.includes('"errors"') },
        { concurrency: options.concurrency },
      );
      cleanups.push(() => load.close());
      const background = createOpenLoop(target(DEMO_TOKENS.globexAdmin, BACKGROUND_QUERY), BACKGROUND_PER_SECOND);
      cleanups.push(() => background.close());
      const scrape = async () => await (await request(`${gateway.url}/metrics`)).body.text();

      // Both queries answer before anything is measured.
      for (const t of [target(DEMO_TOKENS.initechAdmin, MEASURED_QUERY), target(DEMO_TOKENS.globexAdmin, BACKGROUND_QUERY)]) {
        const response = await request(`${gateway.url}/graphql`, { method: 'POST', headers: t.headers, body: t.body });
        const text = await response.body.text();
        if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`probe failed: ${response.statusCode} ${text.slice(0, 300)}`);
      }

      /** Catalog healthy again: breaker closed and its limit well above what the other traffic needs, with that traffic running. */
      async function settle(): Promise<void> {
        catalog.resetKnobs();
        catalog.setKnobs(CATALOG_STATES.normal);
        background.start();
        const until = Date.now() + SETTLE_MS;
        try {
          while (Date.now() < until) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            const { limit, breaker } = catalogState(await scrape());
            if (breaker === 0 && limit >= RECOVERED_LIMIT) return;
          }
          log(`!!! catalog did not recover within ${SETTLE_MS} ms: ${JSON.stringify(catalogState(await scrape()))}`);
        } finally {
          await background.stop();
        }
      }

      const seen: Record<VariantName, { background: OpenLoopCounts; lowestLimit: number; sheds: Record<string, number> }> = {
        normal: { background: {}, lowestLimit: Infinity, sheds: {} },
        'catalog failing fast': { background: {}, lowestLimit: Infinity, sheds: {} },
        'catalog 10x slow': { background: {}, lowestLimit: Infinity, sheds: {} },
      };
      const variant = (name: VariantName): Variant => ({
        name,
        async run(durationMs, phase) {
          catalog.resetKnobs();
          catalog.setKnobs(CATALOG_STATES[name]);
          const shedsBefore = sheds(await scrape());
          background.start();
          const result = await load.run({ durationMs });
          const counts = await background.stop();
          const after = await scrape();
          if (phase === 'measure') {
            const record = seen[name];
            for (const [outcome, n] of Object.entries(counts)) record.background[outcome] = (record.background[outcome] ?? 0) + n;
            record.lowestLimit = Math.min(record.lowestLimit, catalogState(after).limit);
            for (const [reason, n] of Object.entries(sheds(after))) record.sheds[reason] = (record.sheds[reason] ?? 0) + n - (shedsBefore[reason] ?? 0);
          }
          if (name !== 'normal') await settle();
          return result;
        },
      });

      const results = await measureInterleaved([variant('normal'), variant('catalog failing fast'), variant('catalog 10x slow')], options, log);
      const byName = (name: VariantName) => results.find((r) => r.name === name) as VariantResult;
      const base = byName('normal').median;
      const judged = (['catalog failing fast', 'catalog 10x slow'] as const).map((name) => {
        const m = byName(name).median;
        const p50 = m.p50 / base.p50;
        const p99 = m.p99 / base.p99;
        return { name, p50, p99, met: p50 <= TARGETS.p50 && p99 <= TARGETS.p99 };
      });
      const notes = [
        `other traffic (globex, catalog, ${BACKGROUND_PER_SECOND}/s open loop), outcomes over the measured runs; catalog's concurrency limit at the end of a run (lowest); calls shed by reason:`,
        ...(Object.keys(seen) as VariantName[]).map((name) => {
          const { background: counts, lowestLimit, sheds: shed } = seen[name];
          const outcomes =
            Object.entries(counts)
              .map(([k, n]) => `${k} x${n}`)
              .join(', ') || 'none';
          const shedText =
            Object.entries(shed)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'none';
          return `  ${name.padEnd(22)} ${outcomes}; limit ${lowestLimit}; shed: ${shedText}`;
        }),
        ...judged.map(
          (j) =>
            `${j.name}: accounts p50 ${j.p50.toFixed(2)}x (target <= ${TARGETS.p50}x: ${j.p50 <= TARGETS.p50 ? 'met' : 'MISSED'}), p99 ${j.p99.toFixed(2)}x (target <= ${TARGETS.p99}x: ${j.p99 <= TARGETS.p99 ? 'met' : 'MISSED'})`,
        ),
      ];
      return {
        title: `shedding: "${MEASURED_QUERY}" as initech, ${options.concurrency} concurrent, while globex queries catalog at ${BACKGROUND_PER_SECOND}/s`,
        baseline: 'normal',
        variants: results,
        notes,
        verdict: {
          met: judged.every((j) => j.met),
          line: `${judged.map((j) => `${j.name}: p50 ${j.p50.toFixed(2)}x, p99 ${j.p99.toFixed(2)}x`).join('; ')} (targets <= ${TARGETS.p50}x, <= ${TARGETS.p99}x)`,
        },
      };
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};

/** Catalog's concurrency limit and breaker state (0 closed, 1 half-open, 2 open) from /metrics text. */
function catalogState(text: string): { limit: number; breaker: number } {
  const value = (name: string) => Number(new RegExp(`^${name}\\{service="catalog"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { limit: value('downstream_concurrency_limit'), breaker: value('downstream_breaker_state') };
}

/** Catalog calls shed so far, by reason (all priorities and plans). */
function sheds(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, reason = '', n = '0'] of text.matchAll(/^downstream_shed_total\{service="catalog",[^}]*reason="([a-z_]+)"\} (\S+)$/gm)) {
    out[reason] = (out[reason] ?? 0) + Number(n);
  }
  return out;
}
