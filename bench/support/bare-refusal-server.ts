import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A bare `node:http` server in a process of its own that answers every request 429 with a body
 * and rate-limit headers the size of the gateway's (bare-refusal-process.ts): the floor under
 * the gateway's refusal cost on this machine, measured in the same run (what Node's HTTP server
 * and the kernel cost per answer, with nothing of ours).
 */
export async function startBareRefusalServer(): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('./bare-refusal-process.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(message as number));
    child.once('exit', (code) => reject(new Error(`bare refusal server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
