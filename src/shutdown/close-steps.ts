/** One thing the gateway opened, and how to close it. */
export interface CloseStep {
  /** Named in the log when the step throws or overruns: `http`, `meter`, `redis`... */
  name: string;
  close(): void | Promise<void>;
}

/** Steps that threw or were still running at the deadline; the close went on past each. */
export class CloseStepsError extends Error {
  constructor(readonly failed: { name: string; reason: 'threw' | 'overran'; error?: unknown }[]) {
    super(`closing the gateway: ${failed.map((f) => `${f.name} ${f.reason}`).join(', ')}`);
    this.name = 'CloseStepsError';
  }
}

export interface CloseStepsOptions {
  /** Epoch ms by which every step must have ended; a step still running then is left behind. Default: no deadline. */
  until?: number;
  /** Told of each step that throws or overruns, as it happens (the log line names it). */
  onFailure?: (name: string, reason: 'threw' | 'overran', error?: unknown) => void;
}

/**
 * Runs the close steps in order, each one whatever the ones before it did: a step that throws is
 * reported and the next runs; a step still running at `until` is left behind and the rest run at
 * once (each gets what is left, at least a moment), so a hung drain never keeps the config
 * watcher, the timers or the Redis connections open. Resolves when every step has ended or been
 * left behind; rejects with a CloseStepsError naming the failed ones after all have had their turn.
 */
export async function runCloseSteps(steps: readonly CloseStep[], { until = Number.POSITIVE_INFINITY, onFailure }: CloseStepsOptions = {}): Promise<void> {
  const failed: CloseStepsError['failed'] = [];
  for (const step of steps) {
    const outcome = await settleBy(step, until);
    if (outcome.ok) continue;
    failed.push({ name: step.name, reason: outcome.reason, ...(outcome.reason === 'threw' ? { error: outcome.error } : {}) });
    onFailure?.(step.name, outcome.reason, outcome.error);
  }
  if (failed.length > 0) throw new CloseStepsError(failed);
}

/** A step left behind still gets this long (ms) once the deadline has passed: sync closes finish at once. */
const LATE_STEP_MS = 50;

type Outcome = { ok: true } | { ok: false; reason: 'threw'; error: unknown } | { ok: false; reason: 'overran'; error?: undefined };

async function settleBy(step: CloseStep, until: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const running = Promise.resolve().then(() => step.close());
    const overran = new Promise<'overran'>((resolve) => {
      if (!Number.isFinite(until)) return;
      timer = setTimeout(() => resolve('overran'), Math.max(LATE_STEP_MS, until - Date.now()));
    });
    const result = Number.isFinite(until) ? await Promise.race([running.then(() => 'done' as const), overran]) : await running.then(() => 'done' as const);
    // A step left behind may still reject later: that must not become an unhandled rejection.
    if (result === 'overran') {
      running.catch(() => {});
      return { ok: false, reason: 'overran' };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: 'threw', error };
  } finally {
    clearTimeout(timer);
  }
}
