import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

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

/**
 * Microseconds Redis has spent running Lua script calls (EVAL, EVALSHA) since it started, from
 * `INFO commandstats` (a script call's time includes the commands it runs inside).
 */
export async function scriptUsec(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let usec = 0;
  for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro):calls=\d+,usec=(\d+)/gm)) usec += Number(match[1]);
  return usec;
}

/** CPU time (user + system, ms) the redis-server process has used since it started, from `INFO cpu`. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
}

/** Calls per command name Redis has served since it started (`INFO commandstats`), commands run by scripts included. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

export interface CommandCount {
  name: string;
  /** Requests the variant's window completed. */
  requests: number;
  /** Commands clients sent during the window, from every connection but the excluded ones. */
  total: number;
  byCommand: Map<string, number>;
}

/** The SHA1 Redis names a script by (what EVALSHA sends). */
export function scriptSha(lua: string): string {
  return createHash('sha1').update(lua).digest('hex');
}

/**
 * Runs each variant for `windowMs`, one after the other, with Redis MONITOR on, and counts the
 * commands clients sent during each window: top-level commands only (those a script runs are
 * reported by MONITOR as coming from `lua` and are not counted; INFO commandstats cannot tell the
 * two apart), from every connection except `exclude` (the benchmark's own).
 */
export async function countTopLevelCommands(
  url: string,
  variants: { name: string; run: (durationMs: number) => Promise<{ requests: number }> }[],
  windowMs: number,
  exclude: Redis[],
  /** Script SHA1 -> a name: `evalsha` calls of known scripts are counted as `evalsha <name>`. */
  scripts: Map<string, string> = new Map(),
): Promise<CommandCount[]> {
  const ours = new Set(exclude.map((client) => `${client.stream.localAddress}:${client.stream.localPort}`));
  const events: { at: number; command: string }[] = [];
  const client = new Redis(url);
  const monitor = await client.monitor();
  monitor.on('monitor', (time: string, args: string[], source: string) => {
    if (source === 'lua' || ours.has(source)) return;
    let command = String(args[0]).toLowerCase();
    if (command === 'evalsha' || command === 'eval') command = `${command} ${scripts.get(String(args[1]).toLowerCase()) ?? 'other script'}`;
    events.push({ at: Number(time) * 1000, command });
  });
  try {
    // MONITOR takes effect once the reply to it is read; one round trip later it certainly has.
    await client.ping();
    const windows: { name: string; requests: number; from: number; to: number }[] = [];
    for (const variant of variants) {
      const from = Date.now();
      const { requests } = await variant.run(windowMs);
      windows.push({ name: variant.name, requests, from, to: Date.now() });
    }
    // Events still on their way from the monitor connection.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return windows.map(({ name, requests, from, to }) => {
      const byCommand = new Map<string, number>();
      let total = 0;
      for (const event of events) {
        if (event.at < from || event.at > to) continue;
        total++;
        byCommand.set(event.command, (byCommand.get(event.command) ?? 0) + 1);
      }
      return { name, requests, total, byCommand };
    });
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
}
