import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

/**
 * A real `redis-server` owned by one test file, on a free port, so a test may kill and restart
 * it. With `REDIS_URL` set (and `ownServer` not forced), tests use that server instead and
 * `kill`/`restart` are unavailable.
 */
export interface TestRedis {
  url: string;
  /** Stops the server abruptly (SIGKILL): clients see connection errors. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (script cache and data gone). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Sends a signal to the server process (SIGSTOP / SIGCONT: a stall with connections open). */
  signal(signal: NodeJS.Signals): void;
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitForPing(port);
  };
  const kill = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  const signal = (name: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) throw new Error('redis-server is not running');
    child.kill(name);
  };
  return { url: `redis://127.0.0.1:${port}`, kill, restart: start, stop: kill, signal };
}

/**
 * A private redis-server for the calling test file and one client on it: started before the
 * file's tests, stopped after them. Read `server` and `client` inside tests and hooks.
 */
export function useTestRedis(): { readonly server: TestRedis; readonly client: Redis } {
  const local = {} as { server: TestRedis; client: Redis };
  beforeAll(async () => {
    local.server = await startTestRedis();
    local.client = new Redis(local.server.url);
  });
  afterAll(async () => {
    local.client?.disconnect();
    await local.server?.stop();
  });
  return local;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server that never answered PING: its port was taken, or it exited. */
export class RedisDidNotStart extends Error {}

/**
 * Resolves once a redis-server on 127.0.0.1:`port` answers PING (`timeoutMs`, 5 s, at most).
 * Given the server's process, fails at once when it exits (a port taken between `freePort` and
 * the spawn makes redis-server exit), so a caller can retry on another port.
 */
export async function waitForPing(port: number, options: { timeoutMs?: number; child?: ChildProcess } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      const exited = options.child !== undefined && options.child.exitCode !== null;
      if (exited || Date.now() > deadline) {
        const why = exited ? `exited with code ${options.child?.exitCode}` : String(error);
        throw new RedisDidNotStart(`redis-server on port ${port} did not start: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

/**
 * Empties Redis between tests, keeping the limiter's epoch marker (`rl:epoch`): to running
 * gateways a FLUSHALL is Redis losing its data, after which they write their recent admissions
 * back (src/limits/limiter/store-breaker.ts); a test that only wants fresh counters keeps the marker.
 */
export async function flushKeepingEpoch(client: Redis): Promise<void> {
  const epoch = await client.get('rl:epoch');
  await client.flushall();
  if (epoch !== null) await client.set('rl:epoch', epoch);
}
