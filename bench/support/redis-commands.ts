import type { Redis } from 'ioredis';

/**
 * Lua script calls (EVAL, EVALSHA, FCALL) Redis has served since it started, from
 * `INFO commandstats`. The difference across a run, divided by its requests, shows how many
 * script round trips each request really made (a limit check that fell back to the in-process
 * store makes none, and would look fast for the wrong reason).
 */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

/** CPU time (user + system, ms) the redis-server process has used since it started, from `INFO cpu`. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
}
