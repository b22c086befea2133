import type { Logger } from '../../observability/logger.js';
import { hashTag } from '../hash-tag.js';
import type { Adjustment, Dimension } from '../store/types.js';

/**
 * Longest a request's settle (refund, response bytes) waits for the next check on its tenant to
 * carry it before it is sent on its own (also at shutdown). Refunds that wait only refuse early;
 * response bytes are late additions anyway (ALGORITHM.md): other instances see them this much later.
 */
export const SETTLE_CARRY_MS = 1000;

/**
 * Settles of admitted requests waiting, per hash tag (a tenant), to ride on the next check (or
 * peek) of that tag: the same script call applies them first, so a request costs one round trip,
 * not a check plus a settle. What no check carries within SETTLE_CARRY_MS is sent on its own.
 */
export interface SettleCarrier {
  /** The settles waiting on the hash tag of `dims`, handed to the store call about to carry them. */
  take(dims: readonly Dimension[]): readonly Adjustment[];
  /** Settles (already validated) to carry; also those a call took and could not deliver (a bad dimension in it). */
  queue(adjustments: readonly Adjustment[]): void;
  /** Whether settles still wait to be carried (false once closing: they are sent at once). */
  carrying(): boolean;
  /** Sends every settle still waiting, and waits for no more. */
  close(): Promise<void>;
}

export function createSettleCarrier(deps: {
  /** Sends settles of one hash tag on their own (no check carried them in time, or closing). */
  send: (adjustments: Adjustment[]) => Promise<void>;
  logger: Logger;
}): SettleCarrier {
  const unsettled = new Map<string, { adjustments: Adjustment[]; since: number }>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const schedule = (): void => {
    if (timer || unsettled.size === 0 || closed) return;
    let oldest = Infinity;
    for (const waiting of unsettled.values()) oldest = Math.min(oldest, waiting.since);
    timer = setTimeout(
      () => {
        timer = null;
        // Adjustments are validated when they are queued, so this is a bug if it ever happens.
        flush(Date.now() - SETTLE_CARRY_MS).catch((err: unknown) => deps.logger.error({ err }, 'sending waiting limit settles failed'));
      },
      Math.max(0, oldest + SETTLE_CARRY_MS - Date.now()),
    );
    timer.unref();
  };

  /** Sends the settles waiting since `before` (all: Infinity) on their own, one call per tag. */
  const flush = async (before: number): Promise<void> => {
    const due: Adjustment[][] = [];
    for (const [tag, waiting] of unsettled) {
      if (waiting.since > before) continue;
      unsettled.delete(tag);
      due.push(waiting.adjustments);
    }
    schedule();
    await Promise.all(due.map((adjustments) => deps.send(adjustments)));
  };

  return {
    take(dims) {
      const first = dims[0];
      if (unsettled.size === 0 || first === undefined) return NO_ADJUSTMENTS;
      const tag = hashTag(first.key);
      const waiting = unsettled.get(tag);
      if (!waiting) return NO_ADJUSTMENTS;
      unsettled.delete(tag);
      return waiting.adjustments;
    },
    queue(adjustments) {
      if (adjustments.length === 0) return;
      const since = Date.now();
      for (const adjustment of adjustments) {
        const tag = hashTag(adjustment.dimension.key);
        const waiting = unsettled.get(tag);
        if (waiting) {
          waiting.adjustments.push(adjustment);
          waiting.since = Math.min(waiting.since, since);
        } else unsettled.set(tag, { adjustments: [adjustment], since });
      }
      schedule();
    },
    carrying: () => !closed,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await flush(Infinity).catch(() => {});
    },
  };
}

/** Shared, never written to: what `take` returns when nothing waits (no allocation per check). */
const NO_ADJUSTMENTS: readonly Adjustment[] = [];
