import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';

/**
 * What the image's final stage does (Dockerfile), without Docker: the build packed by `npm pack`
 * (package.json "files"), a production-only install (`npm ci --omit=dev`) beside it, and the
 * final stage's CMD (`node dist/main.js`), queried over HTTP. Also the client kit as a plain
 * JavaScript consumer sees it: imported from a `.mjs` file, its types checked from a `.mts` file.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
let work: string;
let app: string;
let gateway: ChildProcess | undefined;
let url: string;
let metricsUrl: string;
let output = '';

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The final stage's `CMD [...]` (the Dockerfile's last one). */
function imageCommand(): string[] {
  const commands = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^CMD (\[.*\])$/gm)];
  return JSON.parse(commands.at(-1)![1]!) as string[];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'final-stage-'));
  app = join(work, 'app');
  await mkdir(app);
  run(process.execPath, ['scripts/build.mjs', '--if-stale'], ROOT);
  run('npm', ['pack', '--silent', '--pack-destination', work], ROOT);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
  run('tar', ['xzf', join(work, tarball), '--strip-components=1', '-C', app], ROOT);
  // As the Dockerfile: the lock file beside the package, production dependencies only.
  copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], app);

  // The image's CMD, word for word (its `node` is this one).
  const [, ...args] = imageCommand();
  gateway = spawn(process.execPath, args, {
    cwd: app,
    // METRICS_PORT as the image sets it (Dockerfile ENV; test/observability/deploy.test.ts), a free port here.
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  [url, metricsUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL gateway ready: (http:\/\/\S+)\/graphql/.exec(output);
      const metrics = /^ {2}metrics: +(http:\/\/\S+)\/metrics/m.exec(output);
      if (match && metrics) resolve([match[1]!, metrics[1]!]);
    };
    gateway!.stdout!.on('data', onData);
    gateway!.stderr!.on('data', onData);
    gateway!.once('exit', (code) => reject(new Error(`node dist/main.js exited (${code}):\n${output}`)));
  });
}, 600_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway!.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the final stage: a production-only install of the packed build', { timeout: 180_000 }, () => {
  it('holds the compiled build and no development dependency', () => {
    expect(existsSync(join(app, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
    for (const dev of ['typescript', 'tsx', 'vite', 'vitest'])
      expect({ dev, installed: existsSync(join(app, 'node_modules', dev)) }).toEqual({ dev, installed: false });
  });

  it("runs node as npm start does: the image's CMD is package.json's start, word for word", () => {
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(imageCommand().join(' ')).toBe(start);
  });

  it('starts with its CMD and answers /healthz, /graphql and the pages', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
      body: JSON.stringify({ query: '{ viewer { clientId } dashboard { customerCount } }' }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data).toEqual({ viewer: { clientId: 'globex-admin' }, dashboard: { customerCount: 60 } });
    expect((await fetch(`${url}/dashboard/`)).status).toBe(200);
    expect((await fetch(`${url}/graphiql`)).status).toBe(200);
  });

  it('serves /metrics on the metrics port its banner names, and not on the public port', async () => {
    expect(new URL(metricsUrl).port).not.toBe(new URL(url).port);
    const scrape = await fetch(`${metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^# TYPE graphql_requests_total counter$/m);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/graphql`)).status).toBe(404);
  });

  it('serves the client kit to a plain JavaScript consumer, with its types', async () => {
    const consumer = join(work, 'consumer');
    await mkdir(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(app, join(consumer, 'node_modules', 'experience-gateway'));
    writeFileSync(
      join(consumer, 'query.mjs'),
      `import { createGatewayClient } from 'experience-gateway/client';
const client = createGatewayClient({ url: process.argv[2] + '/graphql', apiKey: process.argv[3] });
const result = await client.request('{ viewer { clientId } }');
console.log(JSON.stringify({ status: result.status, data: result.data, policies: client.budget().policies.length }));
`,
    );
    const printed = JSON.parse(run(process.execPath, ['query.mjs', url, DEMO_TOKENS.globexAdmin], consumer));
    expect(printed.status).toBe(200);
    expect(printed.data).toEqual({ viewer: { clientId: 'globex-admin' } });
    expect(printed.policies).toBeGreaterThan(0);

    // The declarations resolve through `exports` ("types") for a TypeScript consumer on Node resolution.
    writeFileSync(
      join(consumer, 'typed.mts'),
      `import { createGatewayClient, type Budget } from 'experience-gateway/client';
const client = createGatewayClient({ url: 'http://127.0.0.1/graphql', apiKey: 'k' });
const budget: Budget = client.budget();
const wrong: number = client.budget();
export { budget, wrong };
`,
    );
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
        'typed.mts',
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    // Exactly one error, on the line that assigns a Budget to a number: the types are there and checked.
    expect(tsc.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^typed\.mts\(4,7\): error TS2322: Type 'Budget' is not assignable to type 'number'\./),
    ]);
  });
});
