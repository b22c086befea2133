import DataLoader from 'dataloader';

/** The sample services accept at most 200 ids per batch call; bigger batches are split. */
const MAX_BATCH = 200;

/**
 * The request's read clock: every batch call and every page a resolver fetches takes a number from
 * it when it starts, so "was this value loaded before that moment" has an exact answer inside the
 * request (the field cache asks it: see field-cache.ts, "fresh reads").
 */
export interface ReadClock {
  /** A number larger than every one handed out before. */
  now(): number;
  /** The clock reading when `record` (a value a loader resolved or was primed with) was fetched; undefined when unknown. */
  loadedAt(record: object): number | undefined;
  /** Notes that `record` was fetched starting at `at`. */
  note(record: unknown, at: number): void;
}

export function createReadClock(): ReadClock {
  let tick = 0;
  const stamps = new WeakMap<object, number>();
  return {
    now: () => ++tick,
    loadedAt: (record) => stamps.get(record),
    note(record, at) {
      if (typeof record === 'object' && record !== null) stamps.set(record, at);
    },
  };
}

/** A request's memoising, batching loader by id. */
export interface MemoLoader<V> {
  /** The value for `id`, loaded once per request (batched with the other loads of the tick). */
  load(id: string): Promise<V>;
  loadMany(ids: readonly string[]): Promise<(V | Error)[]>;
  /** A value the request already holds (an item of a page), fetched starting at clock reading `since`. */
  prime(id: string, value: V, since: number): void;
  /** Forgets `id` (after a write), so the next load fetches it again. */
  clear(id: string): MemoLoader<V>;
  /** This loader seen from a moment: values fetched before clock reading `mark` are fetched again. */
  since(mark: number): MemoLoader<V>;
}

/**
 * A DataLoader for batching (one call per tick and resource, `cache: false`) under a memo of our
 * own that remembers when each value's call started. DataLoader's memo cannot say that, and the
 * field cache must never store a value fetched before the invalidation token it stores it under.
 * `batch` answers one value or Error per id, in order; `stamp` is the clock reading of the call.
 * A rejected load is forgotten, so a later load in the request tries again.
 */
export function createMemoLoader<V>(clock: ReadClock, batch: (ids: readonly string[], stamp: number) => Promise<(V | Error)[]>): MemoLoader<V> {
  const memo = new Map<string, { promise: Promise<V>; stamp: number | null }>();
  const batcher = new DataLoader<string, V>(
    async (ids) => {
      const stamp = clock.now();
      for (const id of ids) {
        const entry = memo.get(id);
        // null: queued and dispatched now. A later entry queued in the same tick gets this (earlier) stamp: never too new.
        if (entry && entry.stamp === null) entry.stamp = stamp;
      }
      const values = await batch(ids, stamp);
      for (const value of values) if (!(value instanceof Error)) clock.note(value, stamp);
      return values;
    },
    { cache: false, maxBatchSize: MAX_BATCH },
  );

  function load(id: string, notBefore: number): Promise<V> {
    const held = memo.get(id);
    if (held && (held.stamp === null || held.stamp > notBefore)) return held.promise;
    const entry: { promise: Promise<V>; stamp: number | null } = { promise: batcher.load(id), stamp: null };
    memo.set(id, entry);
    entry.promise.catch(() => {
      if (memo.get(id) === entry) memo.delete(id);
    });
    return entry.promise;
  }

  function view(notBefore: number): MemoLoader<V> {
    const self: MemoLoader<V> = {
      load: (id) => load(id, notBefore),
      loadMany: (ids) => Promise.all(ids.map((id) => load(id, notBefore).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))))),
      prime(id, value, since) {
        const held = memo.get(id);
        // Like DataLoader.prime, an id already held is kept, unless the primed value is newer.
        if (held && (held.stamp === null || held.stamp >= since)) return;
        memo.set(id, { promise: Promise.resolve(value), stamp: since });
        clock.note(value, since);
      },
      clear(id) {
        memo.delete(id);
        return self;
      },
      since: (mark) => view(Math.max(notBefore, mark)),
    };
    return self;
  }

  return view(0);
}
