import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import type { FieldStats, SizedBy } from './field-stats.js';
import { emptyCounts } from './size-histogram.js';

/** One hash for the fleet: a field per (list field, statistic); bounded by the schema's list fields × 88 (81 buckets, 7 sums and labels). */
export const CALIBRATION_KEY = 'calib:{fields}';

/** Kept 30 days after the last push: calibration describes recent traffic, and restarts should not lose it. */
const RETENTION_MS = 30 * 24 * 3_600_000;

/**
 * Adds counts and raises maxima in one call, so two instances pushing at once never lose an
 * update. ARGV: TTL ms, then (field, op, value) triples: `i` HINCRBY, `m` keep the larger, `s` HSET.
 * Sent with EVAL (the script text every push, every few seconds: not worth a registered command).
 */
const PUSH = `
for i = 2, #ARGV, 3 do
  local field, op, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'i' then redis.call('HINCRBY', KEYS[1], field, value)
  elseif op == 'm' then
    local current = tonumber(redis.call('HGET', KEYS[1], field) or '-1')
    if tonumber(value) > current then redis.call('HSET', KEYS[1], field, value) end
  else redis.call('HSET', KEYS[1], field, value) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

export interface CalibrationRollup {
  /** Writes what this instance observed since its last successful push; never rejects (a failed push is retried with the next). */
  push(): Promise<void>;
  /** Every instance's list-field statistics, summed. Rejects when Redis cannot be read. */
  read(): Promise<FieldStats[]>;
  /**
   * Stops the timer. What was observed since the last push (at most one interval) is not pushed:
   * calibration is a statistic, and a shutdown must not wait on a Redis that stalls.
   */
  close(): void;
}

/**
 * The fleet's calibration: each instance adds the change in its list-field statistics to one
 * Redis hash every `intervalMs` (default 5 s; 0: only when asked for a report) and before each of
 * its own reports, so any instance's report covers the lists every
 * instance returned. Fixed histogram edges (size-histogram.ts) make the counts add up exactly.
 */
export function createCalibrationRollup(options: { redis: RedisClient; fields: () => FieldStats[]; logger: Logger; intervalMs?: number }): CalibrationRollup {
  const { redis, logger } = options;
  /** What was pushed so far, per field, to push only the difference. */
  const pushed = new Map<string, FieldStats>();
  let pushing: Promise<void> | null = null;

  async function pushNow(): Promise<void> {
    const current = options.fields();
    const args: (string | number)[] = [];
    for (const stats of current) {
      const before = pushed.get(stats.coordinate);
      const f = (suffix: string) => `${stats.coordinate}\t${suffix}`;
      const lists = stats.lists - (before?.lists ?? 0);
      if (lists === 0) continue;
      args.push(f('n'), 'i', lists, f('s'), 'i', stats.sum - (before?.sum ?? 0), f('e'), 'i', stats.estimatedSum - (before?.estimatedSum ?? 0));
      args.push(
        f('l'),
        'i',
        stats.longerThanPriced - (before?.longerThanPriced ?? 0),
        f('x'),
        'm',
        stats.max,
        f('b'),
        's',
        stats.sizedBy,
        f('d'),
        's',
        stats.listDepth,
      );
      stats.counts.forEach((count, bucket) => {
        const delta = count - (before?.counts[bucket] ?? 0);
        if (delta !== 0) args.push(f(`h${bucket}`), 'i', delta);
      });
    }
    if (args.length === 0) return;
    try {
      await redis.eval(PUSH, 1, CALIBRATION_KEY, RETENTION_MS, ...args);
      for (const stats of current) pushed.set(stats.coordinate, stats);
    } catch (err) {
      logger.warn({ err }, 'cost calibration: pushing to the fleet rollup failed; retried with the next push');
    }
  }

  const push = () => {
    pushing ??= pushNow().finally(() => {
      pushing = null;
    });
    return pushing;
  };
  const intervalMs = options.intervalMs ?? 5000;
  // 0: no timer; the instance pushes only when a report is asked of it.
  const timer = intervalMs > 0 ? setInterval(() => void push(), intervalMs) : null;
  timer?.unref();

  return {
    push,
    async read() {
      const hash = await redis.hgetall(CALIBRATION_KEY);
      const byField = new Map<string, FieldStats>();
      for (const [name, value] of Object.entries(hash)) {
        const tab = name.lastIndexOf('\t');
        if (tab < 0) continue;
        const coordinate = name.slice(0, tab);
        const suffix = name.slice(tab + 1);
        let stats = byField.get(coordinate);
        if (!stats) {
          stats = { coordinate, sizedBy: 'default', listDepth: 1, lists: 0, sum: 0, max: 0, counts: emptyCounts(), estimatedSum: 0, longerThanPriced: 0 };
          byField.set(coordinate, stats);
        }
        if (suffix === 'b') stats.sizedBy = value as SizedBy;
        else if (suffix === 'd') stats.listDepth = Number(value);
        else if (suffix === 'n') stats.lists = Number(value);
        else if (suffix === 's') stats.sum = Number(value);
        else if (suffix === 'e') stats.estimatedSum = Number(value);
        else if (suffix === 'l') stats.longerThanPriced = Number(value);
        else if (suffix === 'x') stats.max = Number(value);
        else if (suffix.startsWith('h')) {
          const bucket = Number(suffix.slice(1));
          if (bucket >= 0 && bucket < stats.counts.length) stats.counts[bucket] = Number(value);
        }
      }
      return [...byField.values()];
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
