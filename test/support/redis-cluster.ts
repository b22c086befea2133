import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, RedisDidNotStart, waitForPing } from './redis-server.js';

const run = promisify(execFile);

/** One node of a test cluster. */
export interface ClusterNode {
  port: number;
  /** `127.0.0.1:<port>` */
  address: string;
}

/**
 * A real local Redis Cluster owned by one test file: `redis-server --cluster-enabled yes` on free
 * ports (no persistence), joined with `redis-cli --cluster create`. 3 masters; with `replicas: 1`,
 * 6 nodes (one replica per master) for failover tests. Nodes time out after 1 s
 * (`cluster-node-timeout`), so a killed master's replica takes over within a few seconds.
 */
export interface TestCluster {
  nodes: ClusterNode[];
  /** Seed nodes for REDIS_CLUSTER_NODES: every node, comma-separated. */
  seeds: string;
  /** The current masters and the slot ranges they own (CLUSTER NODES on a live node). */
  masters(): Promise<{ node: ClusterNode; id: string; slots: [number, number][] }[]>;
  /** The master owning `slot` now. */
  ownerOf(slot: number): Promise<ClusterNode>;
  /** The replica of the master at `port` (CLUSTER NODES). */
  replicaOf(port: number): Promise<ClusterNode>;
  /** A standalone connection to one node (commands for other nodes' slots answer MOVED). */
  connect(port: number): Redis;
  /** SIGKILL one node. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its nodes.conf (it rejoins the cluster), empty. */
  restart(port: number): Promise<void>;
  /** Resolves when every running node reports cluster_state:ok and agrees on the masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every master, keeping the limiter's epoch markers (`rl:epoch*`), as flushKeepingEpoch. */
  flushKeepingEpoch(): Promise<void>;
  stop(): Promise<void>;
}

/** Node start attempts, each on fresh ports: a port taken between `freePort` and the spawn loses one. */
const START_ATTEMPTS = 3;

export async function startTestCluster(options: { replicas?: 0 | 1 } = {}): Promise<TestCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnFreePorts(options);
    } catch (error) {
      if (!(error instanceof RedisDidNotStart) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function startClusterOnFreePorts(options: { replicas?: 0 | 1 }): Promise<TestCluster> {
  const replicas = options.replicas ?? 0;
  const count = replicas === 1 ? 6 : 3;
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: it must be free too, and distinct from the others.
    if (port + 10000 > 65535 || ports.includes(port) || ports.some((p) => p + 10000 === port || port + 10000 === p)) continue;
    ports.push(port);
  }
  const nodes = ports.map((port) => ({ port, address: `127.0.0.1:${port}` }));
  const children = new Map<number, ChildProcess>();

  const start = async (port: number) => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '1000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
    // 15 s: six nodes starting at once on a loaded 2-core machine.
    await waitForPing(port, { child, timeoutMs: 15_000 });
  };
  const kill = async (port: number) => {
    const child = children.get(port);
    children.delete(port);
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  const stop = async () => {
    await Promise.all([...children.keys()].map(kill));
    await rm(dir, { recursive: true, force: true });
  };

  const connect = (port: number) => {
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: false });
    client.on('error', () => {});
    return client;
  };
  const onAny = async <T>(fn: (client: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const port of children.keys()) {
      const client = connect(port);
      try {
        return await fn(client);
      } catch (err) {
        last = err;
      } finally {
        client.disconnect();
      }
    }
    throw last instanceof Error ? last : new Error('no cluster node answers');
  };
  const clusterNodes = () => onAny(async (client) => String(await client.cluster('NODES')));
  const parse = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, addr, flags, masterId, , , , state, ...slots] = line.split(' ');
        return { id: id!, port: Number(addr!.split('@')[0]!.split(':')[1]), flags: flags!.split(','), masterId: masterId!, state: state!, slots };
      });

  const masters = async () =>
    parse(await clusterNodes())
      .filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0)
      .map((n) => ({
        node: { port: n.port, address: `127.0.0.1:${n.port}` },
        id: n.id,
        slots: n.slots
          .filter((s) => !s.startsWith('['))
          .map((s) => s.split('-').map(Number) as [number, number])
          .map(([a, b]) => [a, b ?? a] as [number, number]),
      }));

  const waitHealthy = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        [...children.keys()].map(async (port) => {
          const client = connect(port);
          try {
            const info = String(await client.cluster('INFO'));
            const view = parse(String(await client.cluster('NODES')));
            const owners = view.filter((n) => n.flags.includes('master') && n.slots.length > 0 && !n.flags.some((f) => f.startsWith('fail')));
            return /cluster_state:ok/.test(info) && owners.length === 3
              ? owners
                  .map((o) => o.id)
                  .sort()
                  .join()
              : null;
          } catch {
            return null;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every((s) => s !== null && s === states[0])) return;
      if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms: ${JSON.stringify(states)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    await Promise.all(ports.map(start));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes']);
    await waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    masters,
    async ownerOf(slot) {
      const owner = (await masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new Error(`no master owns slot ${slot}`);
      return owner.node;
    },
    async replicaOf(port) {
      const view = parse(await clusterNodes());
      const master = view.find((n) => n.port === port);
      const replica = view.find((n) => n.masterId === master?.id && !n.flags.includes('fail'));
      if (!replica) throw new Error(`no replica of 127.0.0.1:${port}`);
      return { port: replica.port, address: `127.0.0.1:${replica.port}` };
    },
    connect,
    kill,
    restart: start,
    waitHealthy,
    async flushKeepingEpoch() {
      for (const { node } of await masters()) {
        const client = connect(node.port);
        try {
          const markers = await client.keys('rl:epoch*');
          const values = markers.length > 0 ? await Promise.all(markers.map((key) => client.get(key))) : [];
          await client.flushall();
          for (let i = 0; i < markers.length; i++) if (values[i] !== null) await client.set(markers[i]!, values[i]!);
        } finally {
          client.disconnect();
        }
      }
    },
    stop,
  };
}
