import { DEMO_CONFIG_PATH, DEMO_TOKENS } from './config/demo.js';
import { ConfigError } from './config/load.js';
import { startGateway } from './gateway.js';
import { createLogger } from './observability/logger.js';
import { handleStopSignals } from './shutdown/process-shutdown.js';
import { describeRedis, hasRedis } from './stores/redis.js';

/**
 * `npm start`: the gateway with the config at `CONFIG_PATH` (default: the demo config, with the
 * sample services in-process and in-memory stores unless `REDIS_URL` is set).
 */
const logger = createLogger();
const configPath = process.env.CONFIG_PATH;

try {
  const gateway = await startGateway({ ...(configPath ? { configPath } : {}), logger });
  const config = gateway.config.current();
  const lines = [
    '',
    `GraphQL gateway ready: ${gateway.url}/graphql`,
    `  config:  ${configPath ?? `${DEMO_CONFIG_PATH} (demo)`}`,
    `  stores:  ${hasRedis(config.redis) ? describeRedis(config.redis) : 'in memory (set REDIS_URL or REDIS_CLUSTER_NODES to share state across instances)'}`,
    `  backends: ${gateway.sampleServices ? 'embedded sample services' : 'configured URLs'}`,
  ];
  if (!configPath) {
    lines.push(
      '',
      'Demo keys (public, for trying the gateway out):',
      `  Acme (Free) admin          ${DEMO_TOKENS.acmeAdmin}`,
      `  Globex (Pro) admin         ${DEMO_TOKENS.globexAdmin}`,
      `  Globex (Pro) support       ${DEMO_TOKENS.globexSupport}`,
      `  Globex (Pro) viewer        ${DEMO_TOKENS.globexViewer}`,
      `  Initech (Enterprise) admin ${DEMO_TOKENS.initechAdmin}`,
      `  service token (Initech)    ${DEMO_TOKENS.service}`,
      `  platform admin             ${DEMO_TOKENS.platformAdmin}`,
      '',
      'Try:',
      `  curl -s ${gateway.url}/graphql -H 'authorization: Bearer ${DEMO_TOKENS.globexAdmin}' \\`,
      `    -H 'content-type: application/json' -d '{"query":"{ viewer { tenant { displayName plan { displayName } } } dashboard { customerCount recentOrders { id total { formatted } customer { name } } } }"}'`,
    );
  }
  console.log(lines.join('\n'));

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
