import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startGatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import type { LoadTarget } from '../load.js';
import { measureInterleaved } from '../measure.js';
import { openLoop } from '../open-loop.js';
import type { ScenarioReport } from '../report.js';
import type { Scenario } from '../scenario.js';
import { createOpenLoop } from '../support/open-loop.js';

/** Issue 17's target: critical operations keep this share of successes while batch traffic spikes. */
const TARGET_SUCCESS = 0.999;
/** Critical traffic (open loop), batch traffic normally, and batch during the spike (12x). */
const CRITICAL_PER_SECOND = 20;
const BATCH_PER_SECOND = 10;
const SPIKE = 12;

/**
 * Priority classes under a batch spike: an Enterprise tenant's `Checkout` operations (critical by
 * `admission.priorities`) at 20/s, open loop, while the same gateway serves `ExportOrders`
 * operations (batch) at their normal 10/s, and then spiking to 12x (120/s), enough to saturate
 * the instance (2 cores, the sample services in the same process). Limits are raised out of the
 * way so that admission, not the plan, decides. Baseline: the critical traffic with normal batch
 * traffic, in the same run. Target: critical operations keep at least 99.9% success in the spike.
 */
export const priorityScenario: Scenario = {
  name: 'priority',
  description: `critical operations (${CRITICAL_PER_SECOND}/s) while batch traffic spikes from ${BATCH_PER_SECOND}/s to ${SPIKE}x (target: >= ${TARGET_SUCCESS * 100}% critical successes)`,
  async run(options, log) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const redis = await startTestRedis();
      cleanups.push(() => redis.stop());
      const gateway = await startGatewayProcess({
        redisUrl: redis.url,
        patch: (config) => {
          config.plans.enterprise.limits = { ...config.plans.enterprise.limits, requestsPerMinute: 1e9, costPerMinute: 1e12, maxOperationCost: 1e9 };
          config.plans.enterprise.admission = { weight: 16, maxInFlight: 256 };
          config.admission = {
            priorities: [
              { class: 'critical', operationNames: ['Checkout'] },
              { class: 'batch', operationNames: ['Export*'] },
            ],
          };
        },
      });
      cleanups.push(() => gateway.close());
      log(`redis-server ${redis.url}; gateway ${gateway.url}`);
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}` };
      const critical: LoadTarget = {
        origin: gateway.url,
        path: '/graphql',
        headers,
        body: JSON.stringify({ operationName: 'Checkout', query: 'query Checkout { viewer { clientId } products(first: 3) { name price { formatted } } }' }),
        isSuccess: (text) => text.startsWith('{"data":{"viewer"') && !text.includes('"errors"'),
      };
      const batch: LoadTarget = {
        origin: gateway.url,
        path: '/graphql',
        headers,
        body: JSON.stringify({
          operationName: 'ExportOrders',
          query: 'query ExportOrders { orders(first: 50) { nodes { id total { formatted } items { quantity product { name } } } } }',
        }),
      };
      const batchOutcomes: Record<string, Record<string, number>> = {};
      const withBatch = (name: string, perSecond: number) => ({
        name,
        async run(durationMs: number, phase: 'warmup' | 'measure') {
          const background = createOpenLoop(batch, perSecond);
          background.start();
          try {
            return await openLoop(critical, { ratePerSecond: CRITICAL_PER_SECOND, durationMs });
          } finally {
            const counts = await background.stop();
            await background.close();
            if (phase === 'measure') {
              const total = batchOutcomes[name] ?? {};
              for (const [outcome, n] of Object.entries(counts)) total[outcome] = (total[outcome] ?? 0) + n;
              batchOutcomes[name] = total;
            }
          }
        },
      });
      const results = await measureInterleaved(
        [withBatch('batch normal', BATCH_PER_SECOND), withBatch(`batch x${SPIKE}`, BATCH_PER_SECOND * SPIKE)],
        options,
        log,
      );
      const spike = results[1]!;
      const sent = spike.runs.reduce((sum, run) => sum + run.requests, 0);
      const succeeded = sent - spike.median.errors;
      const success = succeeded / sent;
      const report: ScenarioReport = {
        title: `priority: critical operations at ${CRITICAL_PER_SECOND}/s while batch traffic goes from ${BATCH_PER_SECOND}/s to ${BATCH_PER_SECOND * SPIKE}/s`,
        baseline: 'batch normal',
        variants: results,
        verdict: {
          met: success >= TARGET_SUCCESS,
          line: `critical successes in the spike ${(success * 100).toFixed(2)}% of ${sent} (target >= ${TARGET_SUCCESS * 100}%)`,
        },
        notes: Object.entries(batchOutcomes).map(([name, counts]) => `batch traffic (${name}): ${JSON.stringify(counts)}`),
      };
      return report;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${(error as Error).message}`));
    }
  },
};
