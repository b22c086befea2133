import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/observability/logger.js';
import { createRedis } from '../../src/stores/redis.js';
import { ReplyTimeoutError, withReplyTimeout } from '../../src/stores/reply-timeout.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startTestRedis();
  // The limits connection as the gateway makes it (no offline queue, no auto-pipelining).
  redis = createRedis(server.url, createLogger({ level: 'silent' }), { maxReconnectDelayMs: 250 });
  await new Promise((resolve) => redis.once('ready', resolve));
  await redis.set('k', 'v');
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** Blocks the event loop, as a CPU-bound gateway does. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('withReplyTimeout', () => {
  it('uses a reply that arrived while the event loop was stalled longer than the timeout', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = withReplyTimeout(redis.get('k'), 50);
      // The command is written ...
      await new Promise((resolve) => setImmediate(resolve));
      // ... and Redis answers within a millisecond, while the gateway is busy for 200 ms.
      busy(200);
      await expect(reply).resolves.toBe('v');
    }
  });

  it('does not charge the time before the write to the store', async () => {
    const reply = withReplyTimeout(redis.get('k'), 50);
    busy(200); // the gateway stalls before the command even leaves
    await expect(reply).resolves.toBe('v');
  });

  it('times out when Redis really does not answer', async () => {
    server.signal('SIGSTOP');
    try {
      const started = Date.now();
      await expect(withReplyTimeout(redis.get('k'), 50)).rejects.toBeInstanceOf(ReplyTimeoutError);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      server.signal('SIGCONT');
    }
    await expect(withReplyTimeout(redis.get('k'), 1000)).resolves.toBe('v');
  });

  it('times out each call of a stalled store, oldest first, whenever in the stall it was made', async () => {
    // All calls with one timeout share a timer, armed for the oldest waiting call: each must still
    // get its own timeout, the later ones after the earlier ones.
    await expect(withReplyTimeout(redis.get('k'), 50)).resolves.toBe('v'); // answered: leaves nothing behind
    server.signal('SIGSTOP');
    const order: string[] = [];
    try {
      const first = withReplyTimeout(redis.get('k'), 50);
      const firstDone = first.catch((err: unknown) => order.push('first') && err);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = withReplyTimeout(redis.get('k'), 50);
      const secondDone = second.catch((err: unknown) => order.push('second') && err);
      expect(await firstDone).toBeInstanceOf(ReplyTimeoutError);
      expect(await secondDone).toBeInstanceOf(ReplyTimeoutError);
    } finally {
      server.signal('SIGCONT');
    }
    expect(order).toEqual(['first', 'second']);
    await expect(withReplyTimeout(redis.get('k'), 1000)).resolves.toBe('v');
  });
});
