import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/config/demo.js';

/** A gateway running in a process of its own: only its URL and a way to stop it. */
export interface GatewayProcess {
  url: string;
  close(): Promise<void>;
}

/**
 * The real gateway (`src/main.ts`, as `npm start` runs it) in a child process on 127.0.0.1, port
 * 0, with logging off, configured from `config/demo.yaml` plus `patch`. Unlike
 * `startBenchGateway`, the gateway does not share the load generator's event loop, so what it
 * adds per request is not also charged to the client's side of the measurement.
 */
export async function startGatewayProcess(options: { patch: (config: Record<string, any>) => void; redisUrl?: string }): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
  const configPath = join(dir, 'config.yaml');
  const config = parse(await readFile(DEMO_CONFIG_PATH, 'utf8')) as Record<string, any>;
  options.patch(config);
  await writeFile(configPath, stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, CONFIG_PATH: configPath, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /GraphQL gateway ready: (http:\/\/\S+)\/graphql/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => reject(new Error(`gateway process exited with ${code} before it was ready:\n${output}`)));
    });
    return {
      url,
      async close() {
        child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
