import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../config/demo.js';
import type { Config } from '../config/schema.js';
import { describeRedis, hasRedis } from '../stores/redis.js';

/** What the banner says about the gateway that just started. */
export interface BannerInput {
  /** Base URL the gateway listens on, e.g. `http://127.0.0.1:4000`. */
  url: string;
  /** Base URL `/metrics` is served at: the metrics port's (`server.metricsPort`), or `url`. */
  metricsUrl: string;
  /** `CONFIG_PATH` as given; undefined: the demo config (then the demo keys are listed). */
  configPath: string | undefined;
  config: Config;
  /** The downstream services run embedded (no URLs in the config). */
  embeddedServices: boolean;
}

/**
 * The demo keys, one line each: the token a user pastes, and what it is. Plan names are the
 * plans' display names from the config, as every page and message shows them.
 */
function demoKeyLines(config: Config): string[] {
  const plan = (tenantId: string) => {
    const tenant = config.tenants[tenantId];
    return tenant ? `${tenant.displayName}, ${config.plans[tenant.plan]?.displayName ?? tenant.plan}` : tenantId;
  };
  const rows: [string, string][] = [
    [DEMO_TOKENS.acmeAdmin, `admin of ${plan('acme')}`],
    [DEMO_TOKENS.acmePublishable, `publishable (browser) key of ${plan('acme')}; from http://localhost:5173 only`],
    [DEMO_TOKENS.globexAdmin, `admin of ${plan('globex')}`],
    [DEMO_TOKENS.globexSupport, `support role of ${plan('globex')}`],
    [DEMO_TOKENS.globexViewer, `viewer role of ${plan('globex')}`],
    [DEMO_TOKENS.initechAdmin, `admin of ${plan('initech')}`],
    [DEMO_TOKENS.service, `service token acting for ${plan('initech')}`],
    [DEMO_TOKENS.platformAdmin, 'platform admin: the fleet console'],
  ];
  const width = Math.max(...rows.map(([token]) => token.length));
  return rows.map(([token, what]) => `  ${token.padEnd(width)}  ${what}`);
}

/**
 * The lines `npm start` prints once the gateway listens: where to point a browser and curl
 * first, and with the demo config the public demo keys, so a new user needs nothing else.
 */
export function startBanner(input: BannerInput): string {
  const { url, configPath, config } = input;
  const lines = [
    '',
    `GraphQL gateway ready: ${url}/graphql`,
    `  dashboard:  ${url}/dashboard/   (usage portal; a platform-admin key opens the fleet console)`,
    `  GraphiQL:   ${url}/graphiql/    (put a key in the Headers tab)`,
    `  limits:     ${url}/docs/limits`,
    `  metrics:    ${input.metricsUrl}/metrics   (${input.metricsUrl === url ? 'on the public port: set METRICS_PORT to serve it on an internal port only' : 'a port of its own, not the public one'})`,
    `  config:     ${configPath ?? `${DEMO_CONFIG_PATH} (demo)`}`,
    `  stores:     ${hasRedis(config.redis) ? describeRedis(config.redis) : 'in memory (set REDIS_URL or REDIS_CLUSTER_NODES to share state across instances)'}`,
    `  backends:   ${input.embeddedServices ? 'embedded sample services' : 'configured URLs'}`,
  ];
  if (configPath) return lines.join('\n');
  lines.push(
    '',
    'Demo keys (public, for trying the gateway out; send one as `authorization: Bearer <key>`):',
    ...demoKeyLines(config),
    '',
    'Try:',
    `  curl -s ${url}/graphql -H 'authorization: Bearer ${DEMO_TOKENS.globexAdmin}' \\`,
    `    -H 'content-type: application/json' -d '{"query":"{ viewer { tenant { displayName plan { displayName } } } dashboard { customerCount recentOrders { id total { formatted } customer { name } } } }"}'`,
  );
  return lines.join('\n');
}
