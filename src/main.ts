import { ConfigError } from './config/load.js';
import { startBanner } from './demo/start-banner.js';
import { startGateway } from './gateway.js';
import { createLogger } from './observability/logger.js';
import { handleStopSignals } from './shutdown/process-shutdown.js';

/**
 * `npm start`: the gateway with the config at `CONFIG_PATH` (default: the demo config, with the
 * sample services in-process and in-memory stores unless `REDIS_URL` is set).
 */
const logger = createLogger();
const configPath = process.env.CONFIG_PATH;

try {
  const gateway = await startGateway({ ...(configPath ? { configPath } : {}), logger });
  console.log(
    startBanner({
      url: gateway.url,
      metricsUrl: gateway.metricsUrl,
      configPath,
      config: gateway.config.current(),
      embeddedServices: gateway.sampleServices !== null,
    }),
  );

  // A stop that always ends: drain, flush usage, close every step, exit within the grace period.
  handleStopSignals({ gateway, graceMs: () => gateway.config.current().server.shutdownGraceMs, logger });
  process.on('SIGHUP', () => void gateway.config.reloadNow());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    logger.fatal({ err: error }, 'gateway failed to start');
  }
  process.exit(1);
}
