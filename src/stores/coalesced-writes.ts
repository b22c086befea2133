import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * Wraps each command sent on `redis` so that, while replies are outstanding on it, the commands
 * issued in the same event-loop turn leave in one socket write (the socket is corked until the
 * turn's check phase), and their replies mostly come back in one read: under load, one syscall
 * on each side for a batch of limit checks instead of one per check. A command sent while
 * nothing is outstanding (a lone request) is written at once, with no deferral at all.
 *
 * Unlike ioredis's auto-pipelining, no batch ever waits for the previous batch's replies: each is
 * written at the end of the turn it was issued in, so a check's reply timeout (which starts in
 * that same check phase, after the write: `withReplyTimeout`) is never charged with a queue.
 */
export function coalescedWrites(redis: RedisClient) {
  // A cluster client writes to one connection per master, chosen per command: nothing to cork
  // in one place, so commands go out as they come (as on a single server with nothing outstanding).
  if (redis instanceof Cluster) return <T>(command: () => Promise<T>): Promise<T> => command();
  let corked = false;
  return function send<T>(command: () => Promise<T>): Promise<T> {
    // `commandQueue`: commands written and waiting for their reply, on this connection.
    if (!corked && redis.commandQueue.length > 0 && redis.status === 'ready') {
      const stream = redis.stream;
      stream.cork();
      corked = true;
      setImmediate(() => {
        corked = false;
        stream.uncork();
      });
    }
    return command();
  };
}
