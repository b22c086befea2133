import { performance } from 'node:perf_hooks';

/** Thrown by `withReplyTimeout` when no reply arrived in time. */
export class ReplyTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply from the store within ${ms} ms`);
    this.name = 'ReplyTimeoutError';
  }
}

/**
 * A call waiting for its reply. Once its clock starts it is linked into its timeout's list, and it
 * leaves it as soon as its reply comes: the list holds only calls still waiting, so under load
 * nothing of the answered ones (their promises, their results) is kept alive until the deadline.
 */
interface Waiter {
  /** Rejects the call; null once it has its reply (or its timeout). */
  reject: ((error: Error) => void) | null;
  /** performance.now() when its clock started; -1 while not in its timeout's list. */
  startedAt: number;
  prev: Waiter | null;
  next: Waiter | null;
}

/** The waiting calls of one timeout, oldest clock first, and whether its one timer is armed. */
interface Clock {
  ms: number;
  /** Calls made in the current event-loop turn, whose clock starts in the turn's check phase. */
  thisTurn: Waiter[];
  oldest: Waiter | null;
  newest: Waiter | null;
  armed: boolean;
}

const clocks = new Map<number, Clock>();
/** Clocks with calls in the current turn (a startClocks is scheduled while it is not empty). */
const starting: Clock[] = [];

/** In the check phase after the calls: their clocks start now. */
function startClocks(): void {
  const now = performance.now();
  for (const clock of starting) {
    for (const waiter of clock.thisTurn) {
      if (waiter.reject === null) continue; // settled already (e.g. failed at once: not connected)
      waiter.startedAt = now;
      waiter.prev = clock.newest;
      if (clock.newest === null) clock.oldest = waiter;
      else clock.newest.next = waiter;
      clock.newest = waiter;
    }
    clock.thisTurn.length = 0;
    if (!clock.armed && clock.oldest !== null) arm(clock, clock.ms);
  }
  starting.length = 0;
}

function unlink(clock: Clock, waiter: Waiter): void {
  if (waiter.prev === null) clock.oldest = waiter.next;
  else waiter.prev.next = waiter.next;
  if (waiter.next === null) clock.newest = waiter.prev;
  else waiter.next.prev = waiter.prev;
  waiter.prev = waiter.next = null;
  waiter.startedAt = -1;
}

function arm(clock: Clock, ms: number): void {
  clock.armed = true;
  // The timer runs on the event loop's millisecond clock: `expire` re-arms if it came early.
  setTimeout(() => setImmediate(expire, clock), Math.max(1, Math.ceil(ms))).unref();
}

/** In the check phase after the timer: rejects the calls whose clock ran out, re-arms for the rest. */
function expire(clock: Clock): void {
  clock.armed = false;
  const now = performance.now();
  let waiter = clock.oldest;
  while (waiter !== null && now - waiter.startedAt >= clock.ms) {
    unlink(clock, waiter);
    const reject = waiter.reject!;
    waiter.reject = null;
    reject(new ReplyTimeoutError(clock.ms));
    waiter = clock.oldest;
  }
  if (waiter !== null) arm(clock, waiter.startedAt + clock.ms - now);
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
 * All calls with the same `ms` share one timer, armed for the oldest waiting call's deadline (a
 * timer per call, or per turn, cost more CPU than the rest of a limit check's JavaScript). The
 * timer is unref'd: the connection, not a pending timeout, keeps a process alive.
 *
 * The call is abandoned, not cancelled: it may still complete (and, for a script, take effect)
 * later; callers that care keep their own handle on `promise`.
 */
export function withReplyTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let clock = clocks.get(ms);
  if (clock === undefined) {
    clock = { ms, thisTurn: [], oldest: null, newest: null, armed: false };
    clocks.set(ms, clock);
  }
  const waiting = clock;
  return new Promise<T>((resolve, reject) => {
    const waiter: Waiter = { reject, startedAt: -1, prev: null, next: null };
    promise.then(
      (value) => {
        if (waiter.startedAt >= 0) unlink(waiting, waiter);
        waiter.reject = null;
        resolve(value);
      },
      (error: unknown) => {
        if (waiter.startedAt >= 0) unlink(waiting, waiter);
        waiter.reject = null;
        reject(error);
      },
    );
    if (waiting.thisTurn.length === 0) {
      if (starting.length === 0) setImmediate(startClocks);
      starting.push(waiting);
    }
    waiting.thisTurn.push(waiter);
  });
}
