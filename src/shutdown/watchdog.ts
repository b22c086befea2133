import { Worker } from 'node:worker_threads';

/**
 * The last resort of a shutdown: a worker thread that kills this process (SIGKILL) after `ms`.
 * The main thread's own deadline (process-shutdown.ts) cannot fire while that thread is stuck in
 * a synchronous call: pino's synchronous stdout writes retry EAGAIN with a sleep for as long as
 * a pipe whose reader stopped reading stays full, and nothing on the main thread runs again.
 * A thread of its own still does. Unref'd: a process that ends by itself never waits for it.
 */
export function startWatchdog(ms: number): { stop(): void } {
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { pid: process.pid, ms } });
  worker.unref();
  // A worker that fails to start leaves only the main thread's deadline: still a bounded stop.
  worker.on('error', () => {});
  return { stop: () => void worker.terminate() };
}

// CommonJS: eval'd workers are scripts. SIGKILL because the main thread may be unable to run any
// handler a softer signal would need.
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(workerData.pid, 'SIGKILL'), workerData.ms);
`;
