import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../stores/redis.js';

/** What the limiter needs to know about its connection to the shared store, besides the store itself. */
export interface StoreLink {
  /**
   * The store's epoch: a marker written once into an empty store. A different epoch than the
   * one seen before means the store lost its data (restarted empty, flushed) in between.
   * `createdAt` is the store-clock ms when it was written.
   */
  epoch(): Promise<{ id: string; createdAt: number }>;
  /** Resolves when the connection is ready for commands (at once if it is), or after `ms`. */
  whenReady(ms: number): Promise<void>;
  /** The connection dropped (Redis stopped, killed, restarting): no reply is coming. */
  onDown(listener: () => void): void;
  /** The connection is (again) ready for commands. */
  onUp(listener: () => void): void;
}

/** Never expires: its absence is the sign that the data is gone. */
const EPOCH_KEY = 'rl:epoch';
/** Versioned like the limiter script: a changed script never shares a name. */
const COMMAND = 'limitsEpochV1';
// One round trip, atomic: read the marker, or write it stamped with Redis TIME.
const EPOCH_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local value = redis.call('GET', KEYS[1])
if value then return value end
local t = redis.call('TIME')
value = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value)
return value
`;

type EpochCommand = (numberOfKeys: number, key: string, id: string) => Promise<unknown>;

export function createRedisLink(redis: RedisClient): StoreLink {
  redis.defineCommand(COMMAND, { lua: EPOCH_LUA });
  const command = (redis as unknown as Record<string, EpochCommand>)[COMMAND]!.bind(redis);
  return {
    async epoch() {
      const value = await command(1, EPOCH_KEY, randomUUID());
      const match = typeof value === 'string' ? /^(\d+):(.+)$/.exec(value) : null;
      // A marker someone else wrote in another shape still identifies this incarnation.
      return match ? { id: value as string, createdAt: Number(match[1]) } : { id: String(value), createdAt: 0 };
    },
    whenReady(ms) {
      if (redis.status === 'ready') return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          redis.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        redis.once('ready', done);
      });
    },
    onDown(listener) {
      redis.on('close', listener);
    },
    onUp(listener) {
      redis.on('ready', listener);
    },
  };
}
