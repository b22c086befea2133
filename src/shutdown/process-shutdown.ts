import type { Logger } from '../observability/logger.js';
import { startWatchdog } from './watchdog.js';

/** What the stop needs of the gateway (src/gateway.ts). */
export interface Stoppable {
  close(options: { until: number }): Promise<void>;
}

export interface StopSignalOptions {
  gateway: Stoppable;
  /** `server.shutdownGraceMs` as the config says when the signal comes (it may have been reloaded). */
  graceMs: () => number;
  logger: Logger;
}

/** Past the grace period, the watchdog thread's margin (ms) for the main thread to exit by itself. */
export const WATCHDOG_MARGIN_MS = 1000;
/** Of the grace period, what is left (ms) for closing connections after the last flush attempt. */
const CLOSE_RESERVE_MS = 250;

/**
 * SIGTERM and SIGINT: drain in-flight requests, flush usage, close everything, exit 0; a close
 * step that throws or overruns exits 1 once the rest are closed. However shutdown goes, the
 * process ends: at the grace period the main thread exits 1 with whatever is still open; if the
 * main thread is stuck (a blocked synchronous write), a watchdog thread kills the process
 * `WATCHDOG_MARGIN_MS` later. A second signal exits 1 at once. Logging is best effort: a log
 * reader that went away costs the log lines, never the exit.
 */
export function handleStopSignals({ gateway, graceMs, logger }: StopSignalOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(() => logger.warn({ signal }, 'second stop signal: exiting now'));
      process.exit(1);
    }
    stopping = true;
    const grace = graceMs();
    startWatchdog(grace + WATCHDOG_MARGIN_MS);
    log(() => logger.info({ signal, graceMs: grace }, 'draining in-flight requests'));
    // Ref'd: this timer alone keeps the process up until it fires, whatever else closed.
    const deadline = setTimeout(() => {
      log(() => logger.error({ open: openResources() }, 'shutdown grace period passed; exiting with work still open'));
      process.exit(1);
    }, grace);
    gateway.close({ until: Date.now() + Math.max(0, grace - CLOSE_RESERVE_MS) }).then(
      () => {
        clearTimeout(deadline);
        log(() => logger.info({ open: openResources() }, 'stopped'));
        process.exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log(() => logger.error({ err, open: openResources() }, 'error during shutdown'));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A closed stdout or stderr pipe (EPIPE) would otherwise be an uncaught 'error' event.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}

function log(write: () => void): void {
  try {
    write();
  } catch {
    // The log destination failed: the stop goes on without that line.
  }
}

/** Handles still open, by kind (stdio and the watchdog thread are expected): what a stuck stop holds. */
function openResources(): string[] {
  return process.getActiveResourcesInfo();
}
