import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.js';
import { startTestRedis } from '../../test/support/redis-server.js';
import { cpus, loadavg } from 'node:os';
import { maxInWindow, outageBound, saturate } from '../../test/support/saturation.js';
import type { Scenario } from '../scenario.js';

const INSTANCES = 4;
/** The Free plan as shipped, without its burst zone: 100 requests per rolling minute (and its day, month, cost limits). */
const LIMIT = 100;
const WINDOW_MS = 60_000;
/** Redis is frozen (SIGSTOP) this long once the healthy phase is over. */
const STOP_MS = 5_000;

/**
 * The exactness check, on the real minute: 4 gateway processes on one Redis, `--concurrency`
 * client loops (64 in the issue) saturating acme's Free plan, for a healthy phase of
 * max(`--duration`, 65 s), then Redis frozen for 5 s, then 65 s more. Prints the most admitted in
 * any rolling minute while healthy and across the stop, the stated bound, and the share of
 * decisions made locally while Redis was healthy (target 0).
 */
export const exactnessScenario: Scenario = {
  name: 'exactness',
  description: 'the most admitted in any rolling minute, 4 saturated instances, healthy and across a 5 s Redis stop (target: = the limit / within the bound)',
  async run(options, log) {
    const redis = await startTestRedis();
    const gateways: GatewayProcess[] = [];
    try {
      const patch = (config: Record<string, any>) => {
        config.limits = { decisionHeader: true };
        // The sliding window alone, counted by decision time: the shipped plan's burst zone holds
        // requests decided now to run later, which the `graduated` scenario counts by run time.
        delete config.plans.free.limits.burst;
      };
      for (let i = 0; i < INSTANCES; i++) {
        gateways.push(await startGatewayProcess({ redisUrl: redis.url, patch }));
      }
      const healthyMs = Math.max(options.durationMs, 65_000);
      let stoppedAt = 0;
      let resumedAt = 0;
      log(
        `${INSTANCES} instances, ${options.concurrency} clients, ${(healthyMs + STOP_MS + 65_000) / 1000} s; Redis frozen at ${healthyMs / 1000} s for ${STOP_MS / 1000} s`,
      );
      const { decisions, errors } = await saturate({
        urls: gateways.map((g) => g.url),
        clients: options.concurrency,
        token: DEMO_TOKENS.acmeAdmin,
        query: '{ viewer { clientId } }',
        durationMs: healthyMs + STOP_MS + 65_000,
        events: [
          {
            atMs: healthyMs,
            run: () => {
              stoppedAt = Date.now();
              redis.signal('SIGSTOP');
            },
          },
          {
            atMs: healthyMs + STOP_MS,
            run: () => {
              redis.signal('SIGCONT');
              resumedAt = Date.now();
            },
          },
        ],
      });
      const load = loadavg()[0]!.toFixed(1);
      const healthy = maxInWindow(decisions, WINDOW_MS, { to: stoppedAt });
      const overall = maxInWindow(decisions, WINDOW_MS);
      const bound = outageBound(decisions, { outageAt: stoppedAt, limit: LIMIT, windowMs: WINDOW_MS, instances: INSTANCES, divisor: INSTANCES });
      const whileHealthy = decisions.filter((d) => d.t < stoppedAt || d.t > resumedAt + 2000);
      const localWhileHealthy = whileHealthy.filter((d) => d.source === 'local').length;
      // Local admissions while Redis was up for the others (an instance's own timeouts: a partial
      // outage) are the bound's P term; without them the rest must be within limit + Y + S.
      const partial = whileHealthy.filter((d) => d.source === 'local' && d.status === 200);
      const overallLessPartial = maxInWindow(decisions, WINDOW_MS, { exclude: new Set(partial) });
      const fiveXx = decisions.filter((d) => d.status >= 500).length;
      const met = overallLessPartial <= bound.bound && localWhileHealthy === 0 && fiveXx === 0 && errors === 0;
      return {
        title: `exactness: ${decisions.length} decisions, ${decisions.filter((d) => d.status === 200).length} admitted (load average ${load} on ${cpus().length} cores)`,
        baseline: '',
        variants: [],
        notes: [
          `most admitted in any rolling minute before the stop:       ${healthy} (limit ${LIMIT}, ${(healthy / LIMIT).toFixed(2)}x)`,
          `most admitted in any rolling minute, whole run:            ${overall} (${(overall / LIMIT).toFixed(2)}x)`,
          `  without ${partial.length} local admissions of partial outages (P): ${overallLessPartial}; stated bound limit + Y + S = ${bound.bound} (Y ${bound.y}, stale ${bound.stale})`,
          `decisions made locally while Redis was up (timeouts):      ${localWhileHealthy} of ${whileHealthy.length} (${((100 * localWhileHealthy) / Math.max(1, whileHealthy.length)).toFixed(3)} %)`,
          `5xx: ${fiveXx}, failed requests: ${errors}`,
        ],
        verdict: { met, line: met ? 'exact while healthy, within the bound across the stop, no local decision while healthy' : 'see the lines above' },
      };
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    }
  },
};
