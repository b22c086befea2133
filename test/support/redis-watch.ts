import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { eventually } from './eventually.js';
import { startTestRedis, type TestRedis } from './redis-server.js';

/** A top-level command as MONITOR shows it: its name (lower case) and arguments. */
export interface SentCommand {
  command: string;
  args: string[];
}

/**
 * A private redis-server whose every top-level command is watched (MONITOR over every connection),
 * for the tests that count what a gateway process sends: the watch's own connections (`stats`
 * for INFO and KEYS, a probe for `drained`) and the commands scripts run inside Redis are left out.
 */
export interface RedisWatch {
  readonly redis: TestRedis;
  /** A connection of the test's own, for INFO, KEYS and reads (not counted in `sent`). */
  readonly stats: Redis;
  /** What every other connection sent, in Redis's order since the last `clear`. */
  readonly sent: SentCommand[];
  clear(): void;
  /** Waits until MONITOR has shown everything Redis ran before now (it keeps Redis's order). */
  drained(): Promise<void>;
  /** INFO commandstats: calls per command (a script's own commands count here too). */
  commandstats(): Promise<Map<string, number>>;
  /** Calls per command since `before`, without the INFO that reads them. */
  commandstatsSince(before: Map<string, number>): Promise<Map<string, number>>;
}

/** A RedisWatch for the test file: started before its tests, stopped after them. */
export function useRedisWatch(): RedisWatch {
  let redis: TestRedis | undefined;
  let stats: Redis | undefined;
  let probe: Redis | undefined;
  let monitor: Redis | undefined;
  const sent: SentCommand[] = [];
  const markers = new Set<string>();
  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`the Redis watch's ${name} is used before beforeAll started it`);
    return value;
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    stats = new Redis(redis.url);
    probe = new Redis(redis.url);
    await Promise.all([stats.ping(), probe.ping()]);
    const address = (client: Redis) => `${client.stream.localAddress}:${client.stream.localPort}`;
    const [ours, probing] = [address(stats), address(probe)];
    monitor = await new Redis(redis.url).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === probing) markers.add(String(args[1]));
      if (source === 'lua' || source === ours || source === probing) return;
      sent.push({ command: String(args[0]).toLowerCase(), args: args.slice(1).map(String) });
    });
  });

  afterAll(async () => {
    monitor?.disconnect();
    probe?.disconnect();
    stats?.disconnect();
    await redis?.stop();
  });

  const watch: RedisWatch = {
    get redis() {
      return ready(redis, 'server');
    },
    get stats() {
      return ready(stats, 'connection');
    },
    sent,
    clear: () => {
      sent.length = 0;
    },
    async drained() {
      const marker = `drain-${Math.random()}`;
      await ready(probe, 'probe').echo(marker);
      expect(await eventually(() => markers.has(marker))).toBe(true);
    },
    async commandstats() {
      const info = await watch.stats.info('commandstats');
      return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
    },
    async commandstatsSince(before) {
      const delta = new Map<string, number>();
      for (const [command, calls] of await watch.commandstats()) {
        const n = calls - (before.get(command) ?? 0) - (command === 'info' ? 1 : 0);
        if (n > 0) delta.set(command, n);
      }
      return delta;
    },
  };
  return watch;
}
