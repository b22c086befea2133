/** Thrown by `withReplyTimeout` when no reply arrived in time. */
export class ReplyTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply from the store within ${ms} ms`);
    this.name = 'ReplyTimeoutError';
  }
}

/** A call waiting for its reply; `rejectLate` once its timer has fired and it still has none. */
interface Waiter {
  done: boolean;
  reject: (error: Error) => void;
}

/** Calls made during the current event-loop turn, by timeout, waiting for the turn's check phase. */
let thisTurn: Map<number, Waiter[]> | null = null;

/** In the check phase after the calls: one timer per timeout for the whole turn's calls. */
function startTimers(): void {
  const turn = thisTurn!;
  thisTurn = null;
  for (const [ms, waiters] of turn) {
    setTimeout(() => {
      setImmediate(() => {
        for (const waiter of waiters) if (!waiter.done) waiter.reject(new ReplyTimeoutError(ms));
      });
    }, ms).unref();
  }
}

/**
 * `promise`, or a `ReplyTimeoutError` once `ms` have passed without a reply.
 *
 * The clock starts in the check phase after the call, after the command was written (ioredis
 * writes during the call on a connection without auto-pipelining; its auto-pipelining would queue
 * a command behind the batch in flight, so the limits connection does not use it; commands
 * coalesced by `coalescedWrites` are written at the start of that same check phase), so time the
 * gateway spends before the write is not charged to the store. The rejection itself waits for the
 * check phase after the timer fires: a reply that is already in the socket is read in the poll
 * phase before it and wins, however late the event loop gets to it. Under load a loop turn can
 * take longer than `ms`; a healthy store must never count as failed because the gateway was busy.
 *
 * Calls made in the same turn with the same `ms` share one timer (under load, a turn starts many
 * limit checks). The timer is unref'd: the connection, not a pending timeout, keeps a process alive.
 *
 * The call is abandoned, not cancelled: it may still complete (and, for a script, take effect)
 * later; callers that care keep their own handle on `promise`.
 */
export function withReplyTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const waiter: Waiter = { done: false, reject };
    promise.then(
      (value) => {
        waiter.done = true;
        resolve(value);
      },
      (error: unknown) => {
        waiter.done = true;
        reject(error);
      },
    );
    if (thisTurn === null) {
      thisTurn = new Map();
      setImmediate(startTimers);
    }
    const waiters = thisTurn.get(ms);
    if (waiters) waiters.push(waiter);
    else thisTurn.set(ms, [waiter]);
  });
}
