import { GatewayError } from '../errors/gateway-error.js';

/**
 * One replay at a time on a gateway instance, whichever asks (the What if page's `planReplay`,
 * cost calibration's `costCalibrationReplay`): a replay keeps a core busy for up to a minute, and
 * the instance serves traffic with the other. A second one is refused, not queued.
 */
export function createReplaySlot() {
  let running = false;
  return {
    /** Runs `replay` holding the slot; REPLAY_IN_PROGRESS when another holds it. */
    async run<T>(replay: () => Promise<T>): Promise<T> {
      if (running) throw new GatewayError('REPLAY_IN_PROGRESS', 'A replay is already running on this gateway instance: try again when it is done.');
      running = true;
      try {
        return await replay();
      } finally {
        running = false;
      }
    },
  };
}

export type ReplaySlot = ReturnType<typeof createReplaySlot>;
