import type { DocumentNode } from 'graphql';
import type { Logger } from '../observability/logger.js';
import { createDocumentKeys, operationKeyOf } from './operation-key.js';
import { DAY_MS, type OperationStore } from './operation-store.js';

/** What a priced request ran, as the request path hands it over (http/pipeline.ts `onPriced`). */
export interface PricedRequest {
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | null | undefined;
}

export interface OperationBookOptions {
  store: OperationStore;
  logger: Logger;
  /** How long a day's operations are kept after the day ends, ms: the record's retention. */
  retentionMs: number;
  /** New entries (texts and variable sets) one instance writes per UTC day at most, default 100,000; past it their requests are counted in `notKept`. */
  maxEntriesPerDay?: number;
  /** Texts longer than this are not kept, default 16 KiB (as calibration's samples). */
  maxTextChars?: number;
  /** Variables longer than this (as JSON) are not kept, default 4 KiB. */
  maxVariablesChars?: number;
  /** Write period, ms, default 1,000 (the record's). */
  intervalMs?: number;
}

export interface OperationBookStats {
  /** Entries (texts, variable sets) written. */
  written: number;
  /** Requests whose operation was not kept: over the day's bound, or a text or variables too long. */
  notKept: number;
  /** Entries whose write failed (not retried). */
  failed: number;
}

/**
 * The operations the request record names (issue 23: cost calibration replays a period with
 * suggested `@listSize` values, pricing each recorded request's operation again). Each priced
 * request gets an operation key (operation-key.ts) in its record; the text, name and variables
 * behind the key are written once per UTC day per instance, to the day's entry of the store, so a
 * replay of any minute finds them in that minute's day. Bounded per day (`maxEntriesPerDay`) and
 * by size; an operation not kept leaves its key in the record and the replay counts it.
 */
export function createOperationBook(options: OperationBookOptions) {
  const { store, logger } = options;
  const maxPerDay = options.maxEntriesPerDay ?? 100_000;
  const maxText = options.maxTextChars ?? 16 * 1024;
  const maxVariables = options.maxVariablesChars ?? 4 * 1024;
  const documentKeys = createDocumentKeys();
  /** The request each state priced, until its record asks for the key. */
  const priced = new WeakMap<object, PricedRequest>();
  /** Entries this instance wrote (or queued) per day; only today's and yesterday's are kept. */
  const seen = new Map<number, Set<string>>();
  let queue: { day: number; field: string; value: string }[] = [];
  let written = 0;
  let notKept = 0;
  let failed = 0;
  let flushing: Promise<void> | null = null;

  function seenOn(day: number): Set<string> {
    let set = seen.get(day);
    if (!set) {
      set = new Set();
      seen.set(day, set);
      for (const d of seen.keys()) if (d < day - 1) seen.delete(d);
    }
    return set;
  }

  function queueEntry(day: number, set: Set<string>, field: string, value: () => string): boolean {
    if (set.has(field)) return true;
    if (set.size >= maxPerDay) return false;
    set.add(field);
    queue.push({ day, field, value: value() });
    return true;
  }

  async function writeOut(): Promise<void> {
    const entries = queue;
    queue = [];
    const byDay = new Map<number, [string, string][]>();
    for (const e of entries) {
      const list = byDay.get(e.day);
      if (list) list.push([e.field, e.value]);
      else byDay.set(e.day, [[e.field, e.value]]);
    }
    await Promise.all(
      [...byDay].map(async ([day, list]) => {
        try {
          await store.put(day, list, (day + 1) * DAY_MS + options.retentionMs);
          written += list.length;
        } catch (err) {
          // Not retried: the day's set still says written, so the next request of it does not queue it again.
          failed += list.length;
          logger.warn({ err, entries: list.length }, 'request record: operations write failed; their requests cannot be priced again');
        }
      }),
    );
  }

  const flush = (): Promise<void> => {
    flushing ??= writeOut().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.intervalMs ?? 1000);
  timer.unref();

  return {
    /** The request path's hook, once the request is priced: synchronous, no hashing. */
    priced(state: object, request: PricedRequest): void {
      priced.set(state, request);
    },
    /**
     * The operation key of the request `state` priced, its operation queued for writing if this
     * instance has not written it on the day of `at` (epoch ms); undefined when nothing was priced.
     */
    keyOf(state: object, at: number): string | undefined {
      const request = priced.get(state);
      if (!request) return undefined;
      priced.delete(state);
      const text = request.document.loc?.source.body;
      if (text === undefined) return undefined;
      const name = request.operationName ?? null;
      const documentKey = documentKeys(request.document, name, text);
      const variables = JSON.stringify(request.variables ?? {});
      const key = operationKeyOf(documentKey, variables);
      const day = Math.floor(at / DAY_MS);
      const set = seenOn(day);
      const kept =
        text.length <= maxText &&
        variables.length <= maxVariables &&
        queueEntry(day, set, `d:${documentKey}`, () => JSON.stringify([name, text])) &&
        (key === documentKey || queueEntry(day, set, `v:${key}`, () => variables));
      if (!kept) notKept += 1;
      return key;
    },
    flush,
    async close(): Promise<void> {
      clearInterval(timer);
      await flushing;
      await flush();
    },
    stats: (): OperationBookStats => ({ written, notKept, failed }),
  };
}

export type OperationBook = ReturnType<typeof createOperationBook>;
