import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { readEnvOverrides, type EnvOverrides } from './env-overrides.js';
import { configSchema, type Config } from './schema.js';

/** One problem in a config file: where (`tenants.acme.plan`, `apiKeys[2].sha256`) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * A config that cannot be used. The message lists every issue, one per line, so an operator
 * fixes the file in one pass instead of meeting one error per restart.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The file (or other origin) the config came from, as given to the loader. */
  readonly source: string;
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`);
    super(`${source}: invalid configuration (${count}):\n${lines.join('\n')}`);
    this.source = source;
    this.issues = issues;
  }
}

/**
 * Parses YAML text into a validated, deep-frozen config, with the environment overrides
 * (`PORT`, `HOST`, `METRICS_PORT`, `REDIS_URL`, `TRUST_PROXY`, the downstream URLs; see env-overrides.ts) from `env`
 * (default `process.env`) applied over the file. Throws one ConfigError listing every problem.
 */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { overrides, issues: envIssues } = readEnvOverrides(env);
  const yaml = parseYaml(text);
  if (yaml.issues.length > 0) throw new ConfigError(source, [...yaml.issues, ...envIssues]);

  if (yaml.value === null || yaml.value === undefined) {
    throw new ConfigError(source, [{ path: '(root)', message: 'the file is empty; expected a mapping with at least "plans" and "tenants"' }, ...envIssues]);
  }
  // reportInput lets a message show the bad value ("got \"owner\"").
  const result = configSchema.safeParse(yaml.value, { reportInput: true });
  const issues = [...(result.success ? [] : result.error.issues.flatMap(toConfigIssues)), ...envIssues];
  if (!result.success || issues.length > 0) throw new ConfigError(source, issues);

  const config = applyEnvOverrides(result.data, overrides);
  // What only the file and the environment together can tell, each reported with the others.
  const combined = [redisCredentialsIssue(config, overrides), metricsPortIssue(config.server, overrides)].filter((issue) => issue !== null);
  if (combined.length > 0) throw new ConfigError(source, combined);
  return deepFreeze(config);
}

function redisCredentialsIssue(config: Config, overrides: EnvOverrides): ConfigIssue | null {
  if (!(overrides.redisUsername || overrides.redisPassword) || config.redis.cluster) return null;
  return {
    path: overrides.redisPassword ? 'REDIS_PASSWORD' : 'REDIS_USERNAME',
    message:
      'applies to a Redis Cluster (REDIS_CLUSTER_NODES or redis.cluster); for one server put the credentials in REDIS_URL (redis://user:password@host:6379)',
  };
}

/**
 * The metrics port must be a listener of its own: on the public port's own address it could not
 * listen (0 is fine: it picks a free port, never the public one). Checked once the environment is
 * applied, since PORT and METRICS_PORT may each come from the file or the environment.
 */
function metricsPortIssue(server: Config['server'], overrides: EnvOverrides): ConfigIssue | null {
  const { port, host, metricsPort, metricsHost = host } = server;
  if (metricsPort === undefined || metricsPort === 0 || metricsPort !== port || metricsHost !== host) return null;
  return {
    path: overrides.metricsPort === undefined ? 'server.metricsPort' : 'METRICS_PORT',
    message: `must differ from the public port (server.port, ${port}): /metrics gets a listener of its own`,
  };
}

/** Reads and parses a config file; an unreadable file is a ConfigError too, so callers handle one error type. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfig(await readConfigText(path), path, env);
}

/** The file's text as UTF-8; a missing or unreadable file throws a ConfigError naming it. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '(file)', message: `cannot read: ${(error as Error).message}` }]);
  }
}

/** Syntax errors come with their position, since there is no config path to point at yet. */
function parseYaml(text: string): { value: unknown; issues: ConfigIssue[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => {
      const at = error.linePos?.[0];
      // The pretty message repeats the position and adds a code frame; keep its first sentence.
      const message = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
      return { path: at ? `line ${at.line}, column ${at.col}` : '(yaml)', message };
    });
    return { value: undefined, issues };
  }
  try {
    return { value: doc.toJS(), issues: [] };
  } catch (error) {
    // e.g. an alias expanding past yaml's maxAliasCount (a "billion laughs" file).
    return { value: undefined, issues: [{ path: '(yaml)', message: (error as Error).message }] };
  }
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    // One line per key, at the key's own path, so a typo is easy to find.
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  }
  let message = issue.message;
  const input: unknown = issue.input;
  // A pasted plain token (an API key's `sha256`, `server.metricsTokenSha256`) must not reach the logs.
  const isSecretField = /sha256$/i.test(String(issue.path.at(-1)));
  if (
    (issue.code === 'invalid_value' || issue.code === 'invalid_type') &&
    !isSecretField &&
    (typeof input === 'string' || typeof input === 'number' || typeof input === 'boolean')
  ) {
    message += ` (got ${JSON.stringify(input)})`;
  }
  return [{ path: formatPath(issue.path), message }];
}

/** `['apiKeys', 2, 'sha256']` -> `apiKeys[2].sha256`; the empty path is the whole file. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

function applyEnvOverrides(config: Config, overrides: EnvOverrides): Config {
  return {
    ...config,
    server: {
      ...config.server,
      ...(overrides.port === undefined ? {} : { port: overrides.port }),
      ...(overrides.host === undefined ? {} : { host: overrides.host }),
      ...(overrides.trustProxy === undefined ? {} : { trustProxy: overrides.trustProxy }),
      ...(overrides.metricsPort === undefined ? {} : { metricsPort: overrides.metricsPort }),
      ...(overrides.metricsHost === undefined ? {} : { metricsHost: overrides.metricsHost }),
      ...(overrides.metricsTokenSha256 === undefined ? {} : { metricsTokenSha256: overrides.metricsTokenSha256 }),
    },
    redis: redisWithOverrides(config.redis, overrides),
    billing: {
      ...config.billing,
      ...(overrides.stripeSecretKey === undefined ? {} : { secretKey: overrides.stripeSecretKey }),
      ...(overrides.stripeWebhookSecret === undefined ? {} : { webhookSecret: overrides.stripeWebhookSecret }),
    },
    downstream: Object.fromEntries(
      Object.entries(config.downstream).map(([name, service]) => {
        const url = overrides.downstreamUrls?.[name as keyof typeof config.downstream];
        return [name, url === undefined ? service : { ...service, url }];
      }),
    ) as Config['downstream'],
  };
}

/** REDIS_URL and REDIS_CLUSTER_NODES each replace whichever of the two the file chose. */
function redisWithOverrides(redis: Config['redis'], overrides: EnvOverrides): Config['redis'] {
  if (overrides.redisUrl !== undefined) return { url: overrides.redisUrl };
  const base = overrides.redisClusterNodes ? { ...(redis.cluster ?? { tls: false }), nodes: overrides.redisClusterNodes } : redis.cluster;
  if (!base) return redis;
  const cluster = {
    ...base,
    ...(overrides.redisUsername ? { username: overrides.redisUsername } : {}),
    ...(overrides.redisPassword ? { password: overrides.redisPassword } : {}),
  };
  return { cluster };
}

/** Freezes every nested object and array, so no module can change the config others read. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
