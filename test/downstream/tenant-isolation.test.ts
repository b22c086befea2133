import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { type Downstream, createDownstream } from '../../src/downstream/downstream.js';
import type { QueueEvent } from '../../src/downstream/call-context.js';
import { DownstreamError } from '../../src/errors/gateway-error.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSampleServices } from '../../src/sample-services/start.js';

/**
 * One tenant floods a slow service over real HTTP (the sample services, the real clients); the
 * other tenant's calls are measured against its own baseline taken in the same test.
 */

const SLOW_MS = 200;
const FLOOD = 300;

let sample: Awaited<ReturnType<typeof startSampleServices>>;
let downstream: Downstream;
let events: QueueEvent[];

beforeAll(async () => {
  sample = await startSampleServices();
});
afterAll(() => sample.close());
/** Fresh clients per test: what the queue and the limit learnt in one test stays there. */
beforeEach(() => {
  sample.resetAll();
  const policy = {
    timeouts: { totalMs: 3000 },
    retry: { maxAttempts: 1 },
    // 8 slots, 6 of them for normal calls (20% reserved for critical); a tenant may queue 64 calls,
    // so a FIFO would put 11 rounds of the flood ahead of anyone.
    concurrency: { maxInFlight: 8, maxQueue: 128, maxQueuePerTenant: 64 },
  };
  const config = configSchema.parse({ plans: {}, tenants: {}, downstream: { catalog: policy, accounts: policy } });
  events = [];
  downstream = createDownstream({
    urls: sample.urls,
    config: config.downstream,
    logger: createLogger({ level: 'silent' }),
    queueObserver: (event) => events.push(event),
  });
});
afterEach(async () => {
  sample.resetAll();
  await downstream.close();
});

/** Resolves with how long the call took and how it ended: `ok` or the error's code and reason. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; outcome: string }> {
  const started = performance.now();
  try {
    await call();
    return { ms: performance.now() - started, outcome: 'ok' };
  } catch (err) {
    if (!(err instanceof DownstreamError)) throw err;
    return { ms: performance.now() - started, outcome: `${err.code} ${err.reason}` };
  }
}

async function sequential(times: number, call: () => Promise<unknown>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < times; i++) {
    const { ms, outcome } = await timed(call);
    expect(outcome).toBe('ok');
    durations.push(ms);
  }
  return durations;
}

it("a tenant flooding a slow service is refused quickly; the other tenant's calls, to it and to a healthy service, are not held behind the flood", async () => {
  sample.services.catalog.setKnobs({ latencyMs: SLOW_MS });
  const globex = { tenantId: 'globex', requestId: 'req-globex' };
  const catalog = () => downstream.client('catalog').get('/products/prd_1', globex);
  const accounts = () => downstream.client('accounts').get('/customers/cus_1', globex);

  // Baseline: the same calls with nobody else around.
  const baseline = { catalog: Math.max(...(await sequential(3, catalog))), accounts: Math.max(...(await sequential(3, accounts))) };

  // acme fires its whole flood at once, as a retry loop gone wrong does.
  const flood = Array.from({ length: FLOOD }, (_, i) =>
    timed(() => downstream.client('catalog').get(`/products/prd_${(i % 50) + 1}`, { tenantId: 'acme', requestId: `req-acme-${i}` })),
  );
  expect(downstream.states().catalog).toMatchObject({ inFlight: 6, queued: 64, limit: 8 });
  const during = { catalog: await sequential(3, catalog), accounts: await sequential(3, accounts) };
  const outcomes = await Promise.all(flood);

  // The other tenant: its catalog call waits for the next free slot, not for 64 of acme's calls
  // (at 6 slots of 200 ms a FIFO would take 2.1 s); accounts does not notice anything.
  for (const ms of during.catalog) expect(ms).toBeLessThan(baseline.catalog + 2 * SLOW_MS + 150);
  for (const ms of during.accounts) expect(ms).toBeLessThan(Math.max(50, 5 * baseline.accounts));

  // The flood: 6 + 64 served, the rest refused at once, none left to time out.
  const refused = outcomes.filter((o) => o.outcome !== 'ok');
  expect(outcomes.filter((o) => o.outcome === 'ok')).toHaveLength(70);
  expect(new Set(refused.map((o) => o.outcome))).toEqual(new Set(['DOWNSTREAM_OVERLOADED tenant_queue_full']));
  for (const o of refused) expect(o.ms).toBeLessThan(100);
  expect(events.filter((e) => e.reason === 'tenant_queue_full')).toHaveLength(FLOOD - 70);
  expect(events.filter((e) => e.service === 'catalog' && e.reason === null && e.waitedMs > SLOW_MS)).not.toHaveLength(0);
});

it('refuses at once a call that could not finish before its deadline, once the service is known to be slow', async () => {
  sample.services.catalog.setKnobs({ latencyMs: 1200 });
  const call = (tenantId: string, i: number) => timed(() => downstream.client('catalog').get(`/products/prd_${i}`, { tenantId, requestId: `req-${i}` }));
  // Teach the queue how long a slot is held: one call of 1.2 s.
  expect((await call('initech', 1)).outcome).toBe('ok');
  // 6 calls take the normal slots, 6 more queue for the next round (1.2 s of waiting, 1.2 s of
  // running: within the 3 s deadline); a call that would need a third round is refused on arrival.
  const calls = Array.from({ length: 20 }, (_, i) => call(`tenant-${i % 5}`, i + 2));
  const outcomes = await Promise.all(calls);
  const early = outcomes.filter((o) => o.outcome === 'DOWNSTREAM_OVERLOADED expected_wait');
  expect(outcomes.filter((o) => o.outcome === 'ok')).toHaveLength(12);
  expect(early).toHaveLength(8);
  for (const o of early) expect(o.ms).toBeLessThan(100);
  expect(outcomes.filter((o) => o.outcome.startsWith('DOWNSTREAM_TIMEOUT'))).toHaveLength(0);
});
