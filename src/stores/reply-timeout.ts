/** Thrown by `withReplyTimeout` when no reply arrived in time. */
export class ReplyTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply from the store within ${ms} ms`);
    this.name = 'ReplyTimeoutError';
  }
}

/**
 * `promise`, or a `ReplyTimeoutError` once `ms` have passed without a reply.
 *
 * The clock starts in the check phase after the call, after the command was written (ioredis
 * writes during the call on a connection without auto-pipelining; its auto-pipelining would queue
 * a command behind the batch in flight, so the limits connection does not use it), so time the
 * gateway spends before the write is not charged to the store. The rejection itself waits for the
 * check phase after the timer fires: a reply that is already in the socket is read in the poll
 * phase before it and wins, however late the event loop gets to it. Under load a loop turn can
 * take longer than `ms`; a healthy store must never count as failed because the gateway was busy.
 *
 * The call is abandoned, not cancelled: it may still complete (and, for a script, take effect)
 * later; callers that care keep their own handle on `promise`.
 */
export function withReplyTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined = setImmediate(() => {
    immediate = undefined;
    timer = setTimeout(() => {
      immediate = setImmediate(() => rejectLate(new ReplyTimeoutError(ms)));
    }, ms);
  });
  let rejectLate!: (error: Error) => void;
  const expired = new Promise<never>((_resolve, reject) => {
    rejectLate = reject;
  });
  // The abandoned call may still fail later: nobody waits for it any more.
  promise.catch(() => {});
  return Promise.race([promise, expired]).finally(() => {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  });
}
