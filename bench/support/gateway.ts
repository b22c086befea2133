import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';
import type { Downstream } from '../../src/downstream/downstream.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/logger.js';

/**
 * The real gateway on 127.0.0.1, port 0, with the embedded sample services and logging off,
 * configured from `config/demo.yaml` plus `patch` (written to a temp file, removed by `close`).
 * With `downstream`, that is used instead (and no sample service is started).
 */
export async function startBenchGateway(options: {
  patch: (config: Record<string, any>) => void;
  redisUrl?: string;
  downstream?: Downstream;
}): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
  try {
    const configPath = join(dir, 'config.yaml');
    const config = parse(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
    // Benchmarks measure their own traffic only: no demo history or background requests.
    config.demo = { backfillDays: 0, liveTraffic: false };
    options.patch(config);
    await writeFile(configPath, stringify(config));
    const gateway = await startGateway({
      configPath,
      env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}) },
      logger: createLogger({ level: 'silent' }),
      ...(options.downstream ? { downstream: options.downstream } : {}),
    });
    return {
      ...gateway,
      async close() {
        await gateway.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
