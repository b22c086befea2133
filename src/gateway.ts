import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { createAuthenticator } from './auth/authenticator.js';
import { DEMO_CONFIG_PATH } from './config/demo.js';
import { SERVICE_NAMES, type ServiceName } from './config/schema.js';
import { createConfigSource, type ConfigSource } from './config/source.js';
import { createDownstream } from './downstream/downstream.js';
import { createApollo } from './graph/apollo.js';
import { buildSchema } from './graph/build-schema.js';
import type { ReadinessCheck } from './http/health.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startSampleServices, type SampleServices } from './sample-services/start.js';
import { createRedis } from './stores/redis.js';

export interface GatewayOptions {
  /** YAML config file; default the demo config. `CONFIG_PATH` in `main.ts`. */
  configPath?: string;
  /** Environment the config reads overrides from (`PORT`, `REDIS_URL`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** How often the config file is re-read, default 5 s. */
  configPollIntervalMs?: number;
}

export interface Gateway {
  url: string;
  config: ConfigSource;
  /** The in-process sample services, when the config names no downstream URL for some service. */
  sampleServices: SampleServices | null;
  redis: Redis | null;
  /** Drains in-flight requests, then closes everything this gateway opened. */
  close(): Promise<void>;
}

/**
 * The composition root: config -> stores -> downstream -> schema -> server. Everything the gateway
 * runs on is created here and nowhere else, and closed in reverse order by `close()`.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger();
  const config = await createConfigSource({
    path: options.configPath ?? DEMO_CONFIG_PATH,
    env,
    logger,
    ...(options.configPollIntervalMs ? { pollIntervalMs: options.configPollIntervalMs } : {}),
  });
  const initial = config.current();

  const redis = initial.redis.url ? createRedis(initial.redis.url, logger) : null;

  // Services without a configured URL are served by the embedded sample services.
  const missing = SERVICE_NAMES.filter((name) => !initial.downstream[name].url);
  const sampleServices = missing.length > 0 ? await startSampleServices() : null;
  const urls = Object.fromEntries(
    SERVICE_NAMES.map((name) => [name, initial.downstream[name].url ?? sampleServices!.urls[name]]),
  ) as Record<ServiceName, string>;
  const downstream = createDownstream({ urls, config: initial.downstream, logger });

  const schema = await buildSchema();
  const readinessChecks: ReadinessCheck[] = redis
    ? [{ name: 'redis', check: async () => void (await redis.ping()) }]
    : [];
  const { app } = await createHttpServer({
    configSource: config,
    authenticator: createAuthenticator(() => config.current()),
    downstream,
    logger,
    readinessChecks,
    createApollo: (drainPlugin) => createApollo({ schema, logger, plugins: [drainPlugin] }),
  });

  await app.listen({ port: initial.server.port, host: initial.server.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    config,
    sampleServices,
    redis,
    close() {
      closing ??= (async () => {
        // Fastify's close runs Apollo's drain plugin: in-flight requests finish first.
        await app.close();
        config.close();
        await downstream.close();
        await sampleServices?.close();
        if (redis) await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
