import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../observability/logger.js';
import { sha256Hex } from './hash.js';
import { ConfigError, parseConfig, readConfigText } from './load.js';
import { revokedCredentials } from './reload-guard.js';
import { planReload } from './reload-scope.js';
import type { Config } from './schema.js';

export type ConfigListener = (next: Config, previous: Config) => void;
export type ReloadResult = { ok: true } | { ok: false; error: ConfigError };

/** The live config: one valid config at any time, replaced only by another valid one. */
export interface ConfigSource {
  current(): Config;
  /** Called after a valid change that differs from the current config; returns unsubscribe. */
  onChange(listener: ConfigListener): () => void;
  /** Reads the file now (tests, SIGHUP); an invalid file is refused and the old config kept. */
  reloadNow(): Promise<ReloadResult>;
  /** Stops watching and polling; later changes to the file are ignored. */
  close(): void;
}

export interface ConfigSourceOptions {
  path: string;
  /** Where `PORT` and `REDIS_URL` come from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** How often the file is re-read to catch what fs.watch misses; default 5000 ms. */
  pollIntervalMs?: number;
}

/**
 * How often a changed file is re-read while it settles (and the delay after a watch event before
 * the first look), 100 ms: much shorter than `reload.settleMs`, so a pause between two writes is
 * seen as a change and restarts the settle period.
 */
const RECHECK_MS = 100;

/** Stands for "could not read the file" where a content hash is expected. */
const UNREADABLE = 'unreadable';

/**
 * Loads the config file (throwing a ConfigError listing every problem) and keeps it current.
 * fs.watch on the file's directory gives prompt reloads, including atomic renames and the
 * `..data` symlink swap of a Kubernetes ConfigMap volume; a poll every `pollIntervalMs` catches
 * what fs.watch misses (network file systems, a symlinked directory swapped as a whole). Both
 * compare a content hash, so the file is parsed again only when its bytes changed. Timers and
 * the watcher never keep the process alive.
 *
 * A reload applies only a complete file: its bytes must have stayed the same for
 * `reload.settleMs` (re-read every RECHECK_MS meanwhile), it must be valid, and it must not revoke
 * every key of a tenant (`reload-guard.ts`). Settings read only at start keep their running
 * values and are logged as needing a restart (`reload-scope.ts`).
 */
export async function createConfigSource(options: ConfigSourceOptions): Promise<ConfigSource> {
  const { path, env = process.env, logger, pollIntervalMs = 5000 } = options;
  if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
    throw new Error(`pollIntervalMs must be a positive number: ${pollIntervalMs}`);
  }

  const initialText = await readConfigText(path);
  let config = parseConfig(initialText, path, env);
  // Hash of the last text looked at, valid or not, so a refused file is not refused again every poll.
  let lastSeenHash = sha256Hex(initialText);
  // A changed text seen, and since when (ms, monotonic); applied once it has stayed put long enough.
  let candidate: { hash: string; since: number } | undefined;
  const listeners = new Set<ConfigListener>();
  let closed = false;
  let debounceTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  // Reloads run one at a time, so a slow read can never overwrite a newer config.
  let queue: Promise<unknown> = Promise.resolve();

  /** Parses `text`, or the file when no text is given, and applies it if valid and different. */
  async function reload(text?: string): Promise<ReloadResult> {
    if (closed) return { ok: true };
    let next: Config;
    try {
      lastSeenHash = UNREADABLE; // stays so if the read fails
      text ??= await readConfigText(path);
      lastSeenHash = sha256Hex(text);
      next = parseConfig(text, path, env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (!closed) {
        logger.warn({ configPath: path, issues: error.issues }, `configuration change refused, keeping the previous configuration: ${error.message}`);
      }
      return { ok: false, error };
    }
    if (closed) return { ok: true };
    const revoked = revokedCredentials(config, next);
    if (revoked.length > 0) {
      const error = new ConfigError(path, revoked);
      logger.warn({ configPath: path, issues: error.issues }, `configuration change refused, keeping the previous configuration: ${error.message}`);
      return { ok: false, error };
    }
    const plan = planReload(config, next);
    if (plan.needsRestart.length > 0) {
      logger.warn(
        { configPath: path, needsRestart: plan.needsRestart },
        `configuration changes that apply only at the next restart (kept at their running values until then): ${plan.needsRestart.join(', ')}`,
      );
    }
    if (plan.applied.length === 0 || isDeepStrictEqual(plan.config, config)) return { ok: true };

    const previous = config;
    config = plan.config;
    logger.info({ configPath: path, applied: plan.applied }, 'configuration reloaded');
    for (const listener of [...listeners]) {
      try {
        listener(config, previous);
      } catch (error) {
        // One failing subscriber must not keep the others on the old config.
        logger.error({ err: error, configPath: path }, 'a configuration change listener threw');
      }
    }
    return { ok: true };
  }

  function reloadNow(text?: string): Promise<ReloadResult> {
    const run = queue.then(() => reload(text));
    queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Re-parses only when the bytes differ from the last text seen AND have stayed the same for
   * `reload.settleMs`: a file written in place (`cat > gateway.yaml`, many editors, a slow copy)
   * is briefly empty or half written, and half a key list can be valid YAML that would revoke
   * keys until the rest lands. The period is measured from the first read of these exact bytes.
   */
  async function checkForChange(): Promise<void> {
    if (closed) return;
    const text = await readConfigText(path).catch(() => undefined);
    const hash = text === undefined ? UNREADABLE : sha256Hex(text);
    const now = performance.now();
    if (hash === lastSeenHash) {
      candidate = undefined;
    } else if (hash !== candidate?.hash) {
      candidate = { hash, since: now };
      checkSoon();
    } else if (now - candidate.since < config.reload.settleMs) {
      checkSoon();
    } else {
      candidate = undefined;
      // Parse the very text that was confirmed, not a fresh read that may be mid-write again.
      await reloadNow(text);
    }
  }

  /**
   * Checks once, RECHECK_MS from the first event of a burst. Not reset by later events, so a
   * busy neighbour file in the same directory cannot postpone the check forever.
   */
  function checkSoon(): void {
    if (closed || debounceTimer !== undefined) return;
    debounceTimer = setTimeout(() => {
      debounceTimer = undefined;
      checkForChange().catch(logUnexpected);
    }, RECHECK_MS);
    debounceTimer.unref();
  }

  function poll(): void {
    pollTimer = setTimeout(() => {
      checkForChange()
        .catch(logUnexpected)
        .finally(() => {
          if (!closed) poll();
        });
    }, pollIntervalMs);
    pollTimer.unref();
  }

  function logUnexpected(error: unknown): void {
    logger.error({ err: error, configPath: path }, 'configuration reload failed unexpectedly');
  }

  try {
    // The directory, not the file: a watch on the file follows the old inode after an atomic
    // rename and goes quiet. Any event in the directory only triggers a cheap hash check.
    watcher = watch(dirname(path), { persistent: false }, checkSoon);
    watcher.on('error', (error) => {
      logger.warn({ err: error, configPath: path }, 'config file watch failed; polling only');
      watcher?.close();
      watcher = undefined;
    });
  } catch (error) {
    logger.warn({ err: error, configPath: path }, 'cannot watch the config file; polling only');
  }
  poll();

  return {
    current: () => config,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    reloadNow: () => reloadNow(),
    close() {
      closed = true;
      clearTimeout(debounceTimer);
      clearTimeout(pollTimer);
      watcher?.close();
      watcher = undefined;
      listeners.clear();
    },
  };
}

/** A source that never changes: for tests and for embedding the gateway with a config object. */
export function staticConfigSource(config: Config): ConfigSource {
  return {
    current: () => config,
    onChange: () => () => {},
    reloadNow: async () => ({ ok: true }),
    close: () => {},
  };
}
