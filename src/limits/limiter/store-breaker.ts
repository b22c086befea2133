import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { withReplyTimeout } from '../../stores/reply-timeout.js';
import type { StoreLink } from '../fallback/redis-link.js';
import type { WriteBack } from '../fallback/write-back.js';
import type { StoreState } from './interface.js';

/** Longest the gateway waits at start for Redis (connection, epoch) before serving without it. */
const START_TIMEOUT_MS = 2000;

/**
 * The shared store's outage state machine (ALGORITHM.md, "When Redis fails"):
 *
 *   closed --(a call fails, the connection drops, the epoch changes)--> open
 *   open --(connection up, or a probe every storeBreakerHalfOpenMs)--> half-open
 *   half-open --(written back, storeRecoverySettleMs passed)--> closed
 *   half-open --(the store fails again)--> open
 *
 * Only while `closed` do checks go to the store. Local decisions come in episodes that start with
 * one real failure and end only through half-open: an isolated timeout that went back to the store
 * at once would leave its local admissions unknown to it, and the next episode's window stale.
 */
export interface StoreBreaker {
  state(): StoreState;
  /** A real failure (no reply within storeTimeoutMs, a lost connection): opens, if not open already. */
  failed(err: unknown): void;
  /** Before serving: the store's epoch, so that a later restart (empty) is told apart from a stall. */
  start(): Promise<void>;
  /** Called each time the breaker opens or a failure keeps it open (every lease ends then). */
  onOpen(listener: () => void): void;
  /** Called when it closes again, just before checks return to the store. */
  onClose(listener: () => void): void;
  /** Stops the probes; a recovery under way stops short of closing. */
  close(): void;
}

export type BreakerConfig = Pick<Config['limits'], 'storeTimeoutMs' | 'storeBreakerHalfOpenMs' | 'storeRecoverySettleMs' | 'instanceHeartbeatMs'>;

export function createStoreBreaker(deps: {
  link: StoreLink;
  writeBack: WriteBack;
  /** Store-clock ms (the settle period is measured on it). */
  clock: () => number;
  config: BreakerConfig;
  logger: Logger;
}): StoreBreaker {
  const { link, writeBack, clock, config, logger } = deps;
  const timed = <T>(call: Promise<T>) => withReplyTimeout(call, config.storeTimeoutMs);
  const openListeners: (() => void)[] = [];
  const closeListeners: (() => void)[] = [];
  let state: StoreState = 'closed';
  /** The epoch of the store's data this instance's shared decisions went into (null: unknown). */
  let knownEpoch: string | null = null;
  let recovering: Promise<void> | null = null;
  let stopped = false;

  const open = (): void => {
    state = 'open';
    // Local admissions wait for the next recovery to be written back.
    void writeBack.stopWriteThrough();
    for (const listener of openListeners) listener();
  };

  const failed = (err: unknown): void => {
    if (state !== 'open') logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'limit store unreachable; deciding locally');
    open();
  };

  /** Half-open: write back, settle, close; back to open if the store fails meanwhile. */
  const halfOpen = async (): Promise<void> => {
    state = 'half-open';
    const started = clock();
    try {
      const epoch = await timed(link.epoch());
      const lost = knownEpoch !== epoch.id;
      // Write back at once (so that instances still deciding locally are seen), but keep deciding
      // locally until every instance, which all see the store return within a probe interval and
      // a reconnect delay (250 ms each by default), has written back too. On a cluster only the
      // keys of masters whose marker changed are written back whole (redis-link.ts `lostKeys`).
      await (lost ? writeBack.lost(knownEpoch === null ? undefined : link.lostKeys?.(knownEpoch, epoch.id)) : writeBack.pending());
      knownEpoch = epoch.id;
      // Unless the connection dropped meanwhile (then `failed` ended this episode's write-through).
      if (state === 'half-open') writeBack.startWriteThrough(failed);
      const until = started + config.storeRecoverySettleMs;
      if (until > clock()) await new Promise((resolve) => setTimeout(resolve, until - clock()));
      await writeBack.stopWriteThrough();
      // The store went away during the settle period: the next recovery starts over, with its own
      // look at the epoch (the store may have come back empty again: then everything is written
      // back, and writing back pending here first would count it twice).
      if (state !== 'half-open' || stopped) return;
      // Local admissions, including those made while the writes above ran.
      while (writeBack.hasPending()) await writeBack.pending();
      if (state !== 'half-open' || stopped) return;
      for (const listener of closeListeners) listener();
      state = 'closed';
      logger.info({ dataLost: lost }, lost ? 'limit store back empty; admissions written back' : 'limit store back');
    } catch (err) {
      void writeBack.stopWriteThrough();
      if (state === 'half-open') state = 'open';
      logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'limit store still unreachable');
    } finally {
      recovering = null;
    }
  };

  /** One recovery at a time. */
  const recover = (): Promise<void> => {
    recovering ??= halfOpen();
    return recovering;
  };

  link.onDown(() => failed(new Error('connection to the limit store closed')));
  link.onUp(() => {
    if (state === 'open') void recover();
  });
  const probe = setInterval(() => {
    if (state === 'open') void recover();
  }, config.storeBreakerHalfOpenMs);
  probe.unref();
  // A store that lost its data without the connection dropping (FLUSHALL, a failover to an empty
  // replica) is caught here: the epoch marker is gone.
  const epochCheck = setInterval(() => {
    if (state !== 'closed') return;
    timed(link.epoch()).then(
      (epoch) => {
        if (state === 'closed' && knownEpoch !== null && epoch.id !== knownEpoch) {
          open();
          void recover();
        } else knownEpoch ??= epoch.id;
      },
      (err: unknown) => failed(err),
    );
    // As often as the instance heartbeat (2 s by default): background traffic of the same kind.
  }, config.instanceHeartbeatMs);
  epochCheck.unref();

  return {
    state: () => state,
    failed,
    async start() {
      // Without the store now, the first recovery treats its data as lost (knownEpoch stays null).
      try {
        await link.whenReady(START_TIMEOUT_MS);
        knownEpoch = (await withReplyTimeout(link.epoch(), START_TIMEOUT_MS)).id;
      } catch (err) {
        failed(err);
      }
    },
    onOpen: (listener) => void openListeners.push(listener),
    onClose: (listener) => void closeListeners.push(listener),
    close() {
      stopped = true;
      clearInterval(probe);
      clearInterval(epochCheck);
    },
  };
}
