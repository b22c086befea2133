import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { whenReady, type RedisClient } from '../../stores/redis.js';
import { slotOf } from '../../stores/slots.js';

/** What the limiter needs to know about its connection to the shared store, besides the store itself. */
export interface StoreLink {
  /**
   * The store's epoch: a marker written once into an empty store. A different epoch than the
   * one seen before means the store lost its data (restarted empty, flushed) in between.
   * `createdAt` is the store-clock ms when it was written.
   */
  epoch(): Promise<{ id: string; createdAt: number }>;
  /**
   * Which keys' data may be gone, between two epochs that differ: on a Redis Cluster only the
   * keys on the masters whose marker changed. Absent (one server): every key.
   */
  lostKeys?(before: string, after: string): (key: string) => boolean;
  /** Resolves when the connection is ready for commands (at once if it is), or after `ms`. */
  whenReady(ms: number): Promise<void>;
  /** The connection dropped (Redis stopped, killed, restarting): no reply is coming. */
  onDown(listener: () => void): void;
  /** The connection is (again) ready for commands. */
  onUp(listener: () => void): void;
}

/** Never expires: its absence is the sign that the data is gone. One server: this key. */
const EPOCH_KEY = 'rl:epoch';
/** A cluster: one marker per master, `rl:epoch:{<tag>}` with a tag hashing to a slot the master owns. */
const CLUSTER_EPOCH_PREFIX = 'rl:epoch:';
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
  const markerOf = async (key: string) => {
    const value = await command(1, key, randomUUID());
    const match = typeof value === 'string' ? /^(\d+):(.+)$/.exec(value) : null;
    // A marker someone else wrote in another shape still identifies this incarnation.
    return match ? { id: value as string, createdAt: Number(match[1]) } : { id: String(value), createdAt: 0 };
  };
  const common = { whenReady: (ms: number) => whenReady(redis, ms) };
  if (!(redis instanceof Cluster)) {
    return {
      ...common,
      epoch: () => markerOf(EPOCH_KEY),
      onDown(listener) {
        redis.on('close', listener);
      },
      onUp(listener) {
        redis.on('ready', listener);
      },
    };
  }
  return {
    ...common,
    /**
     * One marker per master, each on the master itself (the key's slot is the lowest slot the
     * master owns), read or written in parallel; the id lists them as `slot=marker`. A master that
     * restarted empty (or was flushed) writes a new marker, so the id changes and `lostKeys` names
     * that master's keys. A replica promoted in a failover holds the marker it replicated long
     * ago: its data is the master's (minus the replication lag ALGORITHM.md leaves uncovered).
     */
    async epoch() {
      const markers = await Promise.all(
        lowestSlotPerMaster(redis).map(async (slot) => ({ slot, marker: await markerOf(`${CLUSTER_EPOCH_PREFIX}{${tagForSlot(slot)}}`) })),
      );
      if (markers.length === 0) throw new Error('cluster slot map not loaded');
      markers.sort((a, b) => a.slot - b.slot);
      return {
        id: markers.map(({ slot, marker }) => `${slot}=${marker.id}`).join(','),
        createdAt: Math.min(...markers.map(({ marker }) => marker.createdAt)),
      };
    },
    lostKeys(before, after) {
      const known = parseClusterEpoch(before);
      // A marker that changed or is new (its master restarted empty; or the slot map changed and a
      // master's lowest slot moved, which is then treated as a loss: strict) -> that master's keys.
      const lostMasters = new Set<string>();
      for (const [slot, marker] of parseClusterEpoch(after)) {
        if (known.get(slot) !== marker) lostMasters.add(redis.slots[slot]?.[0] ?? `?${slot}`);
      }
      return (key) => {
        const owner = redis.slots[slotOf(key)]?.[0];
        // A key whose owner is unknown right now is treated as lost (strict: written back twice).
        return owner === undefined || lostMasters.has(owner);
      };
    },
    onDown(listener) {
      redis.on('close', listener);
      // A master's connection dropped (killed, failing over): its tenants' checks have no answer
      // coming, so the limiter goes local at once instead of after a timeout per check.
      redis.on('-node', (node: { options: { host?: string; port?: number } }) => {
        const key = `${node.options.host}:${node.options.port}`;
        if (redis.slots.some((owners) => owners?.[0] === key)) listener();
      });
    },
    onUp(listener) {
      redis.on('ready', listener);
      redis.on('+node', () => listener());
    },
  };
}

/** The lowest slot of each master in the client's slot map (one entry per master). */
function lowestSlotPerMaster(cluster: Cluster): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  cluster.slots.forEach((owners, slot) => {
    const master = owners?.[0];
    if (master !== undefined && !seen.has(master)) {
      seen.add(master);
      out.push(slot);
    }
  });
  return out;
}

function parseClusterEpoch(id: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of id.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(Number(part.slice(0, eq)), part.slice(eq + 1));
  }
  return out;
}

/** A short hash tag per slot (`e<n>`, the first n whose tag hashes to it), found once. */
let tags: string[] | null = null;
function tagForSlot(slot: number): string {
  if (tags === null) {
    const found: string[] = new Array(16384);
    let missing = 16384;
    for (let n = 0; missing > 0; n++) {
      const tag = `e${n}`;
      const s = slotOf(tag);
      if (found[s] === undefined) {
        found[s] = tag;
        missing--;
      }
    }
    tags = found;
  }
  return tags[slot]!;
}
