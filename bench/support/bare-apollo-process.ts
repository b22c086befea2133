import { spawn } from 'node:child_process';
import { START_FLAGS } from '../../test/support/gateway-process.js';
import { COMPILED_BARE_ENTRY } from './compiled.js';

/** The bare Apollo-on-Fastify baseline (bare-apollo-server.ts) in a process of its own. */
export interface BareApolloProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

const ENTRY = new URL('./bare-apollo-server.ts', import.meta.url).pathname;

/**
 * Starts bare-apollo-server.ts as `startGatewayProcess` starts a gateway (test/support/gateway-process.ts):
 * same Node, same `--import tsx`, the same heap flags as `npm start` (START_FLAGS: a larger young
 * generation collects less often, and the baseline must not lack what the gateway is given),
 * NODE_ENV=production, so the two differ only in what serves the request.
 */
export async function startBareApolloProcess(options: { nodeArgs?: string[]; compiled?: boolean } = {}): Promise<BareApolloProcess> {
  // Compiled: plain Node on support/compiled.ts's output (prepareCompiled first), as a compiled gateway runs.
  const entryArgs = options.compiled ? [COMPILED_BARE_ENTRY] : ['--import', 'tsx', ENTRY];
  const child = spawn(process.execPath, [...START_FLAGS, ...(options.nodeArgs ?? []), ...entryArgs], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /bare Apollo ready: (http:\/\/\S+)\/graphql/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then(() => reject(new Error(`bare Apollo process exited before it was ready:\n${output}`)));
    });
    return {
      url,
      pid: child.pid!,
      async close() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
