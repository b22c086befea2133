import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How late this process's event loop runs callbacks right now, ms: a round trip the adaptive
 * limit measures includes the time the answer waited for the loop, and a gateway busy with its
 * own work must not take that lateness for the service's (it would shed calls to a healthy
 * service because the gateway itself is saturated). Node's event-loop delay histogram (a native
 * timer, sampled every `RESOLUTION_MS`), read and reset every `WINDOW_MS`: its p99 over the last
 * window, less the sampling interval it includes.
 */
export interface LoopLag {
  lagMs(): number;
  stop(): void;
}

const RESOLUTION_MS = 10;
/** As long as the adaptive limit's window: each window sees the lag of about its own span. */
const WINDOW_MS = 100;

export function createLoopLag(): LoopLag {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let lag = 0;
  const timer = setInterval(() => {
    // Nanoseconds; a window without a sample (a loop blocked all along) keeps the last reading.
    if (histogram.count > 0) lag = Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS);
    histogram.reset();
  }, WINDOW_MS);
  timer.unref();
  return {
    lagMs: () => lag,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
