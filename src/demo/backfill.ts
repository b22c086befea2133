import type { Config } from '../config/schema.js';
import { createRandom, hashString, type Random } from '../sample-services/prng.js';
import { syntheticHour, type SyntheticHour } from '../usage/synthetic-history.js';
import type { Aggregate, UsageStore } from '../usage/store.js';

const HOUR_MS = 3_600_000;

/** The span of synthetic history a gateway wrote, for the pages' label. */
export interface SyntheticHistory {
  /** Epoch ms: the first hour written, and the end (exclusive) of the last one. */
  from: number;
  to: number;
}

/** Busiest hour's requests per API key, by plan (unknown plans: the middle one). */
const PEAK_PER_KEY: Record<string, number> = { free: 45, pro: 220, enterprise: 700 };
const FIELDS: [string, number][] = [
  ['Query.dashboard', 0.3],
  ['Query.products', 0.25],
  ['Query.customers', 0.2],
  ['Query.orders', 0.15],
  ['Query.viewer', 0.07],
  ['Mutation.placeOrder', 0.03],
];

/**
 * Made-up but plausible traffic: a daily profile peaking in the afternoon (UTC), quieter
 * weekends, a little noise, 0.5% errors with 0.1% faults, a bad hour now and then (faults and
 * slow responses, so the SLA panels have something to show), and throttling for the free plan
 * in its busiest hours.
 */
function hourOf(random: Random, planId: string, t: number): SyntheticHour {
  const date = new Date(t);
  const h = date.getUTCHours();
  const daily = 0.15 + 0.85 * Math.exp(-((h - 15) ** 2) / 18);
  const weekly = date.getUTCDay() === 0 || date.getUTCDay() === 6 ? 0.45 : 1;
  const requests = Math.round((PEAK_PER_KEY[planId] ?? 220) * daily * weekly * (0.8 + 0.4 * random.next()));
  const badHour = random.next() < 0.004;
  const faults = badHour ? Math.round(requests * 0.08) : Math.round(requests * 0.001 * random.next() * 2);
  const errors = faults + Math.round(requests * 0.004 * random.next() * 2);
  const throttled = planId === 'free' && daily > 0.8 ? Math.round(requests * 0.05 * random.next()) : 0;
  return {
    requests,
    errors,
    faults,
    throttledBy: throttled > 0 ? { requests: throttled } : {},
    cost: requests * (2 + random.next() * 3),
    responseBytes: requests * (1200 + Math.round(random.next() * 1600)),
    cacheHits: Math.round(requests * (0.5 + 0.3 * random.next())),
    cacheMisses: Math.round(requests * 0.25),
    latency: badHour ? { typical: 120, slow: 1800, slowShare: 0.2 } : { typical: 18 + random.next() * 25, slow: 150 + random.next() * 300, slowShare: 0.04 },
    rootFields: Object.fromEntries(FIELDS.map(([field, share]) => [field, Math.round(requests * share)])),
  };
}

/**
 * Writes `days` of synthetic hourly history, ending at the current hour (exclusive), for every
 * tenant's API keys, into the usage store; deterministic per tenant, key and hour. Returns the
 * span written, which the pages label as synthetic.
 */
export async function backfillDemoHistory(deps: { store: UsageStore; config: Config; days: number; now: number }): Promise<SyntheticHistory> {
  const to = Math.floor(deps.now / HOUR_MS) * HOUR_MS;
  const from = to - deps.days * 24 * HOUR_MS;
  const keys = deps.config.apiKeys.filter((k) => Object.hasOwn(deps.config.tenants, k.tenant));
  for (let day = 0; day < deps.days; day++) {
    const batch: Aggregate[] = [];
    for (const key of keys) {
      const planId = deps.config.tenants[key.tenant]!.plan;
      for (let h = 0; h < 24; h++) {
        const t = from + (day * 24 + h) * HOUR_MS;
        const random = createRandom(hashString(`${key.id}:${t}`));
        batch.push(syntheticHour({ tenantId: key.tenant, planId, clientId: key.id, hourStart: t, hour: hourOf(random, planId, t) }));
      }
    }
    await deps.store.write(batch); // a day at a time: one bounded rollup per write
  }
  return { from, to };
}
