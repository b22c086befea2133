import { isPlainObject } from '../jsutils/is-plain-object.js';

/** Fault-injection settings of one service; they apply to every non-admin request. */
export interface Knobs {
  /** Added delay before answering, in ms (default 0). */
  latencyMs: number;
  /** Share of requests answered 500, from 0 to 1 (default 0); drawn with Math.random. */
  errorRate: number;
  /** The next `count` requests answer `status`, with `Retry-After` when given (default null). */
  failNext: { count: number; status: number; retryAfterSeconds?: number } | null;
  /** Accept requests but never answer until cleared or the server closes (default false). */
  hang: boolean;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({ latencyMs: 0, errorRate: 0, failNext: null, hang: false });

/** An injected failure to answer instead of the real response. */
export interface InjectedFailure {
  status: number;
  retryAfterSeconds?: number;
}

/**
 * Checks a Partial<Knobs> that came from outside (JSON over HTTP, or an untyped caller) and
 * throws an Error naming the bad field and value.
 */
export function parseKnobs(input: unknown): Partial<Knobs> {
  if (!isPlainObject(input)) throw new Error(`knobs must be a JSON object, got ${JSON.stringify(input)}`);
  const knobs: Partial<Knobs> = {};
  for (const [key, value] of Object.entries(input)) {
    const bad = (expected: string) => new Error(`${key} must be ${expected}, got ${JSON.stringify(value)}`);
    switch (key) {
      case 'latencyMs':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad('a number >= 0');
        knobs.latencyMs = value;
        break;
      case 'errorRate':
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw bad('a number from 0 to 1');
        knobs.errorRate = value;
        break;
      case 'hang':
        if (typeof value !== 'boolean') throw bad('a boolean');
        knobs.hang = value;
        break;
      case 'failNext':
        knobs.failNext = parseFailNext(value);
        break;
      default:
        throw new Error(`unknown knob: ${key} (known: latencyMs, errorRate, failNext, hang)`);
    }
  }
  return knobs;
}

function parseFailNext(value: unknown): Knobs['failNext'] {
  if (value === null) return null;
  const shape = 'null or { count: integer >= 0, status: integer 100..599, retryAfterSeconds?: integer >= 0 }';
  if (!isPlainObject(value)) throw new Error(`failNext must be ${shape}, got ${JSON.stringify(value)}`);
  const { count, status, retryAfterSeconds, ...rest } = value;
  const isInt = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (!isInt(count, 0, Number.MAX_SAFE_INTEGER)) throw new Error(`failNext.count must be an integer >= 0, got ${JSON.stringify(count)}`);
  if (!isInt(status, 100, 599)) throw new Error(`failNext.status must be an integer from 100 to 599, got ${JSON.stringify(status)}`);
  if (retryAfterSeconds !== undefined && !isInt(retryAfterSeconds, 0, Number.MAX_SAFE_INTEGER)) {
    throw new Error(`failNext.retryAfterSeconds must be an integer >= 0, got ${JSON.stringify(retryAfterSeconds)}`);
  }
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new Error(`failNext has an unknown field: ${extra}`);
  return retryAfterSeconds === undefined
    ? { count: count as number, status: status as number }
    : { count: count as number, status: status as number, retryAfterSeconds: retryAfterSeconds as number };
}

/** The live knobs of one service, and the bookkeeping `failNext` and `hang` need. */
export function createKnobControl() {
  let knobs: Knobs = { ...DEFAULT_KNOBS };
  // Wakers of requests parked by `hang`; called when hang is cleared.
  const hangWaiters = new Set<() => void>();

  const apply = (next: Knobs) => {
    knobs = next;
    if (!knobs.hang) for (const wake of [...hangWaiters]) wake();
  };

  return {
    current: (): Knobs => ({ ...knobs, failNext: knobs.failNext && { ...knobs.failNext } }),
    set(partial: Partial<Knobs>): void {
      apply({ ...knobs, ...parseKnobs(partial) });
    },
    reset(): void {
      apply({ ...DEFAULT_KNOBS });
    },
    // Cheap reads for the per-request path, which must not copy the knobs on every call.
    latencyMs: (): number => knobs.latencyMs,
    isHanging: (): boolean => knobs.hang,
    /** Registers a waker for when hang is cleared; returns the unregister function. */
    onHangCleared(wake: () => void): () => void {
      hangWaiters.add(wake);
      return () => hangWaiters.delete(wake);
    },
    /** The failure this request must answer with, if any; consumes one `failNext` slot. */
    takeFailure(): InjectedFailure | null {
      const failNext = knobs.failNext;
      if (failNext && failNext.count > 0) {
        const remaining = failNext.count - 1;
        knobs = { ...knobs, failNext: remaining > 0 ? { ...failNext, count: remaining } : null };
        return { status: failNext.status, retryAfterSeconds: failNext.retryAfterSeconds };
      }
      if (knobs.errorRate > 0 && Math.random() < knobs.errorRate) return { status: 500 };
      return null;
    },
  };
}

export type KnobControl = ReturnType<typeof createKnobControl>;
