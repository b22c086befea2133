import type { Authenticator } from '../auth/authenticator.js';
import type { MeteredBilling } from '../billing/metered-billing.js';
import type { Config } from '../config/schema.js';
import { startLiveTraffic } from '../demo/live-traffic.js';
import type { Logger } from '../observability/logger.js';

/**
 * What runs once the gateway listens: metered billing's loops (stopped by their own close step),
 * and the demo's live traffic against `url` when `demo.liveTraffic` is on. Returns the traffic's stop.
 */
export function startBackgroundJobs(deps: {
  url: string;
  initial: Config;
  authenticator: Authenticator;
  meteredBilling: MeteredBilling;
  logger: Logger;
}): () => void {
  const { initial } = deps;
  deps.meteredBilling.start();
  return initial.demo.liveTraffic
    ? startLiveTraffic({ url: deps.url, authenticator: deps.authenticator, requestsPerMinute: initial.demo.liveRequestsPerMinute, logger: deps.logger })
    : () => {};
}
