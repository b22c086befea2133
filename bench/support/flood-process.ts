import { flood } from '../open-loop.js';
import type { LoadTarget } from '../load.js';

/**
 * A flood in a process of its own (`fork`ed by a scenario): a retry loop's client is another
 * machine, and in the scenario's own process its work would delay the measured client's timers
 * and reads, charging the client's queueing to the gateway. Starts on the first message (the
 * target and the connections), stops on `stop`, and sends back what it got.
 */
process.once('message', (message: { target: LoadTarget; connections: number }) => {
  const running = flood(message.target, message.connections);
  process.send?.('started');
  process.once('message', async () => {
    const result = await running.stop();
    process.send?.(result, () => process.exit(0));
  });
});
