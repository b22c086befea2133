import { SERVICE_NAMES, type ServiceName } from './schema.js';

/**
 * Environment variables that win over the config file, so one file can serve several
 * deployments: `PORT` -> `server.port`, `HOST` -> `server.host`, `REDIS_URL` -> `redis.url`,
 * `ACCOUNTS_URL` (and `CATALOG_URL`, `ORDERS_URL`, `INVENTORY_URL`) -> `downstream.<service>.url`.
 * An empty variable counts as unset, as it does for most tools (`PORT= npm start`).
 */
export interface EnvOverrides {
  port?: number;
  host?: string;
  redisUrl?: string;
  downstreamUrls?: Partial<Record<ServiceName, string>>;
}

/** Reads the overrides; a bad value is an issue named after the variable, reported with the file's. */
export function readEnvOverrides(env: NodeJS.ProcessEnv): {
  overrides: EnvOverrides;
  issues: { path: string; message: string }[];
} {
  const overrides: EnvOverrides = {};
  const issues: { path: string; message: string }[] = [];

  const port = env.PORT?.trim();
  if (port) {
    const value = Number(port);
    if (/^\d+$/.test(port) && value <= 65535) overrides.port = value;
    else issues.push({ path: 'PORT', message: `must be a whole number from 0 to 65535, got "${port}"` });
  }

  const host = env.HOST?.trim();
  if (host) overrides.host = host;

  for (const service of SERVICE_NAMES) {
    const variable = `${service.toUpperCase()}_URL`;
    const url = env[variable]?.trim();
    if (!url) continue;
    // `inventory:4104` parses as a URL with scheme "inventory:", so the scheme is checked too.
    if (/^https?:\/\//.test(url) && URL.canParse(url)) (overrides.downstreamUrls ??= {})[service] = url;
    else issues.push({ path: variable, message: `must be an http(s) URL, got "${url}"` });
  }

  // Not echoed in messages: a Redis URL may carry a password.
  const redisUrl = env.REDIS_URL?.trim();
  if (redisUrl) overrides.redisUrl = redisUrl;

  return { overrides, issues };
}
