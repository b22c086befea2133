import { ConfigError } from './config/load.js';
import { startBanner } from './demo/start-banner.js';
import { startGateway } from './gateway.js';
import { createLogger } from './observability/logger.js';

/**
 * `npm start`: the gateway with the config at `CONFIG_PATH` (default: the demo config, with the
 * sample services in-process and in-memory stores unless `REDIS_URL` is set).
 */
const logger = createLogger();
const configPath = process.env.CONFIG_PATH;

try {
  const gateway = await startGateway({ ...(configPath ? { configPath } : {}), logger });
  console.log(startBanner({ url: gateway.url, configPath, config: gateway.config.current(), embeddedServices: gateway.sampleServices !== null }));

  // A clean stop: drain in-flight requests, flush usage (waiting for a slow Redis up to the grace
  // period), close the stores, exit 0. Only a stop that overruns the grace period exits 1.
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'draining in-flight requests');
    const graceMs = gateway.config.current().server.shutdownGraceMs;
    const force = setTimeout(() => {
      logger.error('shutdown grace period passed; exiting with work still open');
      process.exit(1);
    }, graceMs);
    force.unref();
    // Leave a little of the grace period for closing connections after the last flush attempt.
    gateway.close({ until: Date.now() + Math.max(0, graceMs - 250) }).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => void gateway.config.reloadNow());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    logger.fatal({ err: error }, 'gateway failed to start');
  }
  process.exit(1);
}
