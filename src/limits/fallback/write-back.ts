import { hashTag } from '../hash-tag.js';
import type { Adjustment } from '../store/types.js';
import type { Ledger } from './ledger.js';

/** Replays per script call: they share one hash tag (Redis Cluster) and keep each call short. */
const REPLAY_CHUNK = 100;

/**
 * Writes what this instance admitted while the store was away back into the shared windows, at
 * each admission's own time (`placement: 'at'`, ALGORITHM.md "Writing back"). Each call throws if
 * the store fails again; what it had not written then goes back to pending, to be tried again.
 */
export interface WriteBack {
  /** What was admitted locally (or added while the store failed) and the store has not seen. */
  pending(): Promise<void>;
  /**
   * The store lost its data: everything this instance admitted in the current windows on the
   * keys `lost` names (all keys when absent), and only what is pending on the others.
   */
  lost(lost?: (key: string) => boolean): Promise<void>;
  /** Whether local admissions wait to be written back. */
  hasPending(): boolean;
  /**
   * The settle period after writing back (ALGORITHM.md): the store answers this instance and
   * others may already decide through it, so from now on each local admission is written back at
   * once (one write in flight at a time) instead of at the end of the settle. `onFailure`: such a
   * write failed (the store is gone again; what it held is pending again).
   */
  startWriteThrough(onFailure: (err: unknown) => void): void;
  /** Ends write-through; resolves once the write in flight, if any, is done. */
  stopWriteThrough(): Promise<void>;
  /** A local admission was recorded: written back now if writing through. */
  admitted(): void;
}

export function createWriteBack(deps: {
  ledger: Ledger;
  /** One `adjust` call to the shared store, with its reply timeout. */
  adjust: (adjustments: Adjustment[]) => Promise<void>;
}): WriteBack {
  const { ledger } = deps;

  /** Writes replays into the store, grouped by hash tag; what is not written goes back to pending. */
  const replay = async (adjustments: Adjustment[]): Promise<void> => {
    const byTag = new Map<string, Adjustment[]>();
    for (const adjustment of adjustments) {
      const tag = hashTag(adjustment.dimension.key);
      const list = byTag.get(tag);
      if (list) list.push(adjustment);
      else byTag.set(tag, [adjustment]);
    }
    const chunks = [...byTag.values()].flatMap((list) => chunk(list, REPLAY_CHUNK));
    for (const [i, part] of chunks.entries()) {
      try {
        await deps.adjust(part);
      } catch (err) {
        // A timed-out chunk may still land: written twice is strict, never loose.
        ledger.restorePending(chunks.slice(i).flat());
        throw err;
      }
    }
  };

  const pending = () => replay(ledger.takePending());
  /** Set while writing through: where a failed write is reported. */
  let onFailure: ((err: unknown) => void) | null = null;
  let flushing: Promise<void> | null = null;
  const flush = (): void => {
    if (flushing || !onFailure || !ledger.hasPending()) return;
    const failed = onFailure;
    flushing = pending().then(
      () => {
        flushing = null;
        flush();
      },
      // Not again at once: a write that fails without waiting (a closed connection) would
      // otherwise retry in a loop of promise callbacks that never lets a timer run, the settle
      // period's end included.
      (err: unknown) => {
        flushing = null;
        failed(err);
      },
    );
  };

  return {
    pending,
    lost: (lost) => replay(ledger.takeOwn(lost)),
    hasPending: () => ledger.hasPending(),
    startWriteThrough(failed) {
      onFailure = failed;
    },
    async stopWriteThrough() {
      onFailure = null;
      await flushing;
    },
    admitted: flush,
  };
}

function chunk<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
