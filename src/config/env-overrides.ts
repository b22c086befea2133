import { sha256Hex } from './hash.js';
import { redisNodeAddress, SERVICE_NAMES, trustedProxies, type ServiceName } from './schema.js';

/**
 * Environment variables that win over the config file, so one file can serve several
 * deployments: `PORT` -> `server.port`, `HOST` -> `server.host`, `REDIS_URL` -> `redis.url`,
 * `ACCOUNTS_URL` (and `CATALOG_URL`, `ORDERS_URL`, `INVENTORY_URL`) -> `downstream.<service>.url`,
 * `TRUST_PROXY` (`true`, `false`, or addresses/CIDRs) -> `server.trustProxy`,
 * `REDIS_CLUSTER_NODES` (`host:port,host:port`) -> `redis.cluster.nodes`, `REDIS_USERNAME` and
 * `REDIS_PASSWORD` -> `redis.cluster.username`/`password` (one server takes them in `REDIS_URL`).
 * `STRIPE_SECRET_KEY` and `STRIPE_WEBHOOK_SECRET` -> `billing.secretKey` / `billing.webhookSecret`
 * (secrets are better kept out of the file).
 * `METRICS_PORT` -> `server.metricsPort`, `METRICS_HOST` -> `server.metricsHost`, `METRICS_TOKEN`
 * (the token itself, hashed here) -> `server.metricsTokenSha256`.
 * `REDIS_URL` and `REDIS_CLUSTER_NODES` each replace the file's other choice; both at once is an error.
 * An empty variable counts as unset, as it does for most tools (`PORT= npm start`).
 */
export interface EnvOverrides {
  port?: number;
  host?: string;
  metricsPort?: number;
  metricsHost?: string;
  metricsTokenSha256?: string;
  redisUrl?: string;
  redisClusterNodes?: string[];
  redisUsername?: string;
  redisPassword?: string;
  trustProxy?: boolean | string;
  downstreamUrls?: Partial<Record<ServiceName, string>>;
  stripeSecretKey?: string;
  stripeWebhookSecret?: string;
}

/** Reads the overrides; a bad value is an issue named after the variable, reported with the file's. */
export function readEnvOverrides(env: NodeJS.ProcessEnv): {
  overrides: EnvOverrides;
  issues: { path: string; message: string }[];
} {
  const overrides: EnvOverrides = {};
  const issues: { path: string; message: string }[] = [];

  const port = portOf(env, 'PORT', issues);
  if (port !== undefined) overrides.port = port;
  const host = env.HOST?.trim();
  if (host) overrides.host = host;

  const metricsPort = portOf(env, 'METRICS_PORT', issues);
  if (metricsPort !== undefined) overrides.metricsPort = metricsPort;
  const metricsHost = env.METRICS_HOST?.trim();
  if (metricsHost) overrides.metricsHost = metricsHost;
  // Not echoed: it is a credential. Printable ASCII without spaces, as a bearer token is sent.
  const metricsToken = env.METRICS_TOKEN?.trim();
  if (metricsToken) {
    if (/^[\x21-\x7e]{16,512}$/.test(metricsToken)) overrides.metricsTokenSha256 = sha256Hex(metricsToken);
    else
      issues.push({
        path: 'METRICS_TOKEN',
        message: 'must be 16 to 512 printable ASCII characters without spaces (e.g. the output of `openssl rand -hex 32`)',
      });
  }

  const trustProxy = env.TRUST_PROXY?.trim();
  if (trustProxy === 'true' || trustProxy === 'false') overrides.trustProxy = trustProxy === 'true';
  else if (trustProxy) {
    const parsed = trustedProxies.safeParse(trustProxy);
    if (parsed.success) overrides.trustProxy = parsed.data;
    else issues.push({ path: 'TRUST_PROXY', message: `must be true, false, or ${parsed.error.issues[0]!.message.replace(/^must be /, '')}` });
  }

  for (const service of SERVICE_NAMES) {
    const variable = `${service.toUpperCase()}_URL`;
    const url = env[variable]?.trim();
    if (!url) continue;
    // `inventory:4104` parses as a URL with scheme "inventory:", so the scheme is checked too.
    if (/^https?:\/\//.test(url) && URL.canParse(url)) {
      overrides.downstreamUrls ??= {};
      overrides.downstreamUrls[service] = url;
    } else {
      issues.push({ path: variable, message: `must be an http(s) URL, got "${url}"` });
    }
  }

  // Not echoed in messages: a Redis URL may carry a password.
  const redisUrl = env.REDIS_URL?.trim();
  if (redisUrl) overrides.redisUrl = redisUrl;

  const clusterNodes = env.REDIS_CLUSTER_NODES?.trim();
  if (clusterNodes) {
    const nodes = clusterNodes
      .split(',')
      .map((node) => node.trim())
      .filter((node) => node !== '');
    const bad = nodes.filter((node) => !redisNodeAddress.safeParse(node).success);
    if (nodes.length === 0 || bad.length > 0) {
      issues.push({
        path: 'REDIS_CLUSTER_NODES',
        message: `must be host:port seed nodes separated by commas (e.g. "10.0.0.5:6379,10.0.0.6:6379"), got "${clusterNodes}"`,
      });
    } else if (redisUrl) {
      issues.push({ path: 'REDIS_CLUSTER_NODES', message: 'set either REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both' });
    } else overrides.redisClusterNodes = nodes;
  }
  // Not echoed either.
  const username = env.REDIS_USERNAME?.trim();
  if (username) overrides.redisUsername = username;
  const password = env.REDIS_PASSWORD;
  if (password) overrides.redisPassword = password;
  if (env.STRIPE_SECRET_KEY) overrides.stripeSecretKey = env.STRIPE_SECRET_KEY;
  if (env.STRIPE_WEBHOOK_SECRET) overrides.stripeWebhookSecret = env.STRIPE_WEBHOOK_SECRET;

  return { overrides, issues };
}

/** A port variable's value (0 picks a free port); undefined when unset or bad, a bad one an issue. */
function portOf(env: NodeJS.ProcessEnv, variable: string, issues: { path: string; message: string }[]): number | undefined {
  const text = env[variable]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (/^\d+$/.test(text) && value <= 65535) return value;
  issues.push({ path: variable, message: `must be a whole number from 0 to 65535, got "${text}"` });
  return undefined;
}
