import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../src/config/demo.js';
import { startSampleServices, type SampleServices } from '../src/sample-services/start.js';

let services: SampleServices;
let dir: string;
beforeAll(async () => {
  services = await startSampleServices();
  dir = await mkdtemp(join(tmpdir(), 'gateway-main-'));
});
afterAll(async () => {
  await services.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `src/main.ts` as `npm start` does, and resolves with its URL once it prints the banner. */
function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL gateway ready: (http:\/\/\S+)\/graphql/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, exited, output: () => output };
}

describe('the gateway process', () => {
  it('starts with the demo config, prints the demo keys and answers a composed query', async () => {
    const proc = startProcess({ PORT: '0' });
    const url = await proc.url;
    expect(proc.output()).toContain(DEMO_TOKENS.globexAdmin);
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
      body: JSON.stringify({ query: '{ dashboard { customerCount recentOrders { customer { name } } } }' }),
    });
    const body = (await response.json()) as any;
    expect(body.data.dashboard.customerCount).toBe(60);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('drains an in-flight request on SIGTERM before exiting', async () => {
    const config = parse(await readFile(DEMO_CONFIG_PATH, 'utf8'));
    config.downstream = Object.fromEntries(Object.entries(services.urls).map(([name, url]) => [name, { url }]));
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, stringify(config));
    services.services.catalog.setKnobs({ latencyMs: 800 });

    const proc = startProcess({ PORT: '0', CONFIG_PATH: configPath });
    const url = await proc.url;
    const inFlight = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` },
      body: JSON.stringify({ query: '{ product(id: "prd_1") { name } }' }),
    });
    await new Promise((r) => setTimeout(r, 300));
    proc.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.product.name).toEqual(expect.any(String));
    expect(await proc.exited).toBe(0);
  });

  it('refuses to start on an invalid config, listing every problem', async () => {
    const configPath = join(dir, 'bad.yaml');
    await writeFile(
      configPath,
      'plans: {}\ntenants:\n  acme: { displayName: Acme, plan: gold }\napiKeys:\n  - { id: k, tenant: acme, role: boss, sha256: xyz }\n',
    );
    const proc = startProcess({ PORT: '0', CONFIG_PATH: configPath });
    proc.url.catch(() => {});
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('tenants.acme.plan');
    expect(proc.output()).toContain('apiKeys[0].role');
    expect(proc.output()).toContain('apiKeys[0].sha256');
  });
});
