import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import type { Logger } from '../../src/observability/logger.js';
import type { SampleServices } from '../../src/sample-services/start.js';

export interface TestGateway extends Gateway {
  sampleServices: SampleServices;
  configPath: string;
  /** Rewrites the config file from the demo config plus `patch`. */
  writeConfig(patch: (config: Record<string, any>) => void): Promise<void>;
  /** POST /graphql with a bearer token. */
  gql(token: string | null, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse>;
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
}

/**
 * The real gateway on port 0 with the embedded sample services, configured from the demo
 * config file plus a patch, written to a temp file (so hot reload can be exercised).
 */
export async function startTestGateway(
  options: {
    patch?: (config: Record<string, any>) => void;
    env?: Record<string, string>;
    configPollIntervalMs?: number;
    logger?: Logger;
    traceExporter?: GatewayOptions['traceExporter'];
    closeSteps?: GatewayOptions['closeSteps'];
    schemaDir?: string;
  } = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  const configPath = join(dir, 'config.yaml');
  const demo = await readFile(DEMO_CONFIG_PATH, 'utf8');
  const writeConfig = async (patch: (config: Record<string, any>) => void) => {
    const config = parse(demo) as Record<string, any>;
    // No made-up history or background traffic in tests unless a test asks for them.
    config.demo = { backfillDays: 0, liveTraffic: false };
    patch(config);
    await writeFile(configPath, stringify(config));
  };
  await writeConfig(options.patch ?? (() => {}));
  const gateway = await startGateway({
    configPath,
    env: { PORT: '0', ...options.env },
    ...(options.configPollIntervalMs ? { configPollIntervalMs: options.configPollIntervalMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.traceExporter ? { traceExporter: options.traceExporter } : {}),
    ...(options.closeSteps ? { closeSteps: options.closeSteps } : {}),
    ...(options.schemaDir ? { schemaDir: options.schemaDir } : {}),
  });
  if (!gateway.sampleServices) throw new Error('test gateway expects the embedded sample services');
  const sampleServices = gateway.sampleServices;

  return {
    ...gateway,
    sampleServices,
    configPath,
    writeConfig,
    async gql(token, query, variables, headers = {}) {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // What current clients (Apollo Client, urql) send; test/http/graphql-over-http.test.ts covers plain application/json.
          accept: 'application/graphql-response+json, application/json;q=0.9',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GqlResponse['body'] };
    },
    async close(closeOptions) {
      try {
        await gateway.close(closeOptions);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
