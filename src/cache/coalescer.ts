/**
 * Single flight per cache entry, in one instance: while a downstream call for an entry is in
 * flight, later misses of the same entry wait for it instead of making their own. Keyed exactly
 * as finely as the cache: the entry key (tenant, role or key, field, arguments, parent) and the
 * entry's invalidation token. A flight is labelled with the token its value will be stored under,
 * and numbered in the order flights start (`mark()` reads that count). A caller joins a flight
 * only if it accepts it: its own read saw the same token, or, when it read no token (the tag is
 * absent or the read failed), the flight started after the caller's read was issued. Never an
 * older one: a caller whose read failed may have started after a mutation that a flight begun
 * earlier predates. So a caller never receives a value read before its own read began, or before
 * an invalidation its read saw. That holds because the flight's value itself was loaded after its
 * token was read: the rule `fill()` in field-cache.ts enforces (the one place it is stated),
 * memoised loader values included. A failure is shared too (the followers would have made the
 * same call); the entry is free again as soon as a failed call settles, and `keepMs` after a
 * successful one.
 */
export function createCoalescer<T>() {
  const flights = new Map<string, Flight<T>[]>();
  /** Flights started so far in this instance: a flight's `started` is its rank. */
  let started = 0;

  return {
    /** A number smaller than the `started` of every flight that starts from now on. */
    mark: (): number => started,
    /** The call for `key` (in flight, or landed less than `keepMs` ago) that `accepts` takes, if any. */
    find(key: string, accepts: (flight: Readonly<Omit<Flight<T>, 'promise'>>) => boolean): Promise<T> | undefined {
      return flights.get(key)?.find((flight) => accepts(flight))?.promise;
    },
    /** Starts `call` as the flight for `key` labelled `label`; its value stays joinable `keepMs(value)` ms after it lands. */
    start(key: string, label: string, call: () => Promise<T>, keepMs: (value: T) => number = () => 0): Promise<T> {
      const flight: Flight<T> = { label, started: ++started, promise: call(), landed: false };
      const list = flights.get(key);
      if (list) list.push(flight);
      else flights.set(key, [flight]);
      const land = () => {
        const remaining = (flights.get(key) ?? []).filter((f) => f !== flight);
        if (remaining.length > 0) flights.set(key, remaining);
        else flights.delete(key);
      };
      // A value is kept `keepMs` after it lands: a miss whose read went out before the entry was
      // written, but whose answer is handled after the flight landed (a busy event loop), still
      // joins it rather than calling downstream again. That is no staler than the stored entry
      // it would have hit: same label, same value. Anything not stored (a failure) goes at once.
      flight.promise.then((value) => {
        if (keepMs(value) <= 0) return land();
        flight.landed = true;
        setTimeout(land, keepMs(value)).unref();
      }, land);
      return flight.promise;
    },
    /** Calls in flight, for tests. */
    size: () => [...flights.values()].reduce((sum, list) => sum + list.length, 0),
  };
}

interface Flight<T> {
  /** The token the value is stored under. */
  label: string;
  /** Rank among the flights of this instance, in start order (compare with `mark()`). */
  started: number;
  promise: Promise<T>;
  /** Settled and stored; joinable for `keepMs` more. */
  landed: boolean;
}

export type Coalescer<T> = ReturnType<typeof createCoalescer<T>>;
