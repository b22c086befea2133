import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/logger.js';
import { handleStopSignals } from '../../src/shutdown/process-shutdown.js';

/**
 * `src/main.ts`'s stop, with one close step made to fail: CLOSE_FAULT=<step>:<throw|hang|flood>.
 * `flood` writes log lines from inside the step until stdout blocks (a log reader that stopped
 * reading), so the main thread is stuck in a synchronous write. Prints the ready line
 * test/support/gateway-process.ts waits for.
 */
const [faultStep, mode] = (process.env.CLOSE_FAULT ?? '').split(':');
const logger = createLogger();
const gateway = await startGateway({
  ...(process.env.CONFIG_PATH ? { configPath: process.env.CONFIG_PATH } : {}),
  logger,
  closeSteps: (steps) => steps.map((step) => (step.name === faultStep ? { name: step.name, close: fault(step.close) } : step)),
});
handleStopSignals({ gateway, graceMs: () => gateway.config.current().server.shutdownGraceMs, logger });
console.log(`GraphQL gateway ready: ${gateway.url}/graphql`);

function fault(close: () => unknown): () => Promise<void> {
  return async () => {
    if (mode === 'throw') throw new Error(`injected: ${faultStep} throws`);
    if (mode === 'hang') return new Promise<void>(() => {});
    if (mode === 'flood') {
      const line = 'x'.repeat(1024);
      for (let i = 0; i < 100_000; i++) logger.error({ line }, 'flood');
    }
    await close();
  };
}
