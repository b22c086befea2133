/**
 * `npm run simulate -- --plan <file> --from <time> --to <time> [--config <file>] [--json] [--top <n>]`:
 * replays the request record of a period (src/record/) against a proposed plan (proposed-plans.ts)
 * and prints, per tenant, what it would refuse and by which limit, when refusals would start, the
 * peak use of each limit and the headroom left. Reads the record from the config's Redis
 * (`REDIS_URL` and the other environment overrides apply, as for the gateway); runs here, not on
 * the gateway, so a week of traffic is no load on it (the console's "What if" page is bounded).
 *
 * Times: ISO 8601 (`2026-12-01T00:00Z`), epoch ms, `now`, or `now-<n><s|m|h|d>` (`now-7d`).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEMO_CONFIG_PATH } from '../config/demo.js';
import { loadConfigFile } from '../config/load.js';
import { createRedisOverrides } from '../limits/overrides.js';
import type { Logger } from '../observability/logger.js';
import { readMinutes } from '../record/reader.js';
import { createRedisRecordStore } from '../record/record-store.js';
import { createRedis, hasRedis, whenReady } from '../stores/redis.js';
import { formatReplay } from './format-replay.js';
import { parseProposedPlans } from './proposed-plans.js';
import { replayRecords, type ReplayResult } from './replay-run.js';

export const SIMULATE_USAGE =
  'usage: npm run simulate -- --plan <plans.yaml|json> --from <time> --to <time> [--config <gateway config>] [--json] [--top <n>]\n' +
  '  time: ISO 8601, epoch ms, now, now-<n>(s|m|h|d)';

/** A problem the user can fix: printed without a stack. */
export class SimulateError extends Error {}

export async function simulateCommand(argv: string[], env: NodeJS.ProcessEnv, logger: Logger): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plan: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      top: { type: 'string' },
    },
    strict: true,
  });
  if (!values.plan || !values.from || !values.to) throw new SimulateError(`--plan, --from and --to are required\n${SIMULATE_USAGE}`);
  const now = Date.now();
  const from = parseTime(values.from, now, '--from');
  const to = parseTime(values.to, now, '--to');
  if (!(to > from)) throw new SimulateError(`--to must be after --from: ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}`);
  const top = values.top === undefined ? 20 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new SimulateError(`--top must be a positive integer: ${values.top}`);

  const configPath = values.config ?? env.CONFIG_PATH ?? DEMO_CONFIG_PATH;
  const config = await loadConfigFile(configPath, env);
  const planText = await readFile(values.plan, 'utf8').catch((err: unknown) => {
    throw new SimulateError(`cannot read the plan file ${values.plan}: ${err instanceof Error ? err.message : String(err)}`);
  });
  const proposal = parseProposedPlans(planText, values.plan, config);
  if (!hasRedis(config.redis)) {
    throw new SimulateError(
      `the config ${configPath} names no Redis (redis.url, REDIS_URL): the request record of a gateway without Redis lives in its process only`,
    );
  }
  const redis = createRedis(config.redis, logger);
  let result: ReplayResult;
  try {
    await whenReady(redis, 5000).catch((err: unknown) => {
      throw new SimulateError(`cannot reach Redis: ${err instanceof Error ? err.message : String(err)}`);
    });
    // Platform admins' runtime limit overrides as they stand (`setTenantLimits`), as the gateway applies them.
    const runtime = createRedisOverrides({ redis, pollMs: 3_600_000, logger });
    await runtime.refresh();
    const overrides = runtime.list();
    runtime.close();
    const started = performance.now();
    result = await replayRecords(readMinutes(createRedisRecordStore(redis), { from, to }), { config, proposal, overrides });
    const seconds = (performance.now() - started) / 1000;
    if (values.json) return `${JSON.stringify({ from, to, proposal, seconds, ...result }, null, 2)}\n`;
    return formatReplay({ from, to, proposal, result, top, seconds });
  } finally {
    redis.disconnect();
  }
}

/** An ISO 8601 time, epoch ms, `now` or `now-<n><unit>`, as epoch ms. */
export function parseTime(text: string, now: number, option: string): number {
  const relative = /^now(?:-(\d+)([smhd]))?$/.exec(text);
  if (relative)
    return relative[1] ? now - Number(relative[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'] : now;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new SimulateError(`${option} is not a time (ISO 8601, epoch ms, now, now-7d): ${text}`);
  return parsed;
}
