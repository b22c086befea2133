import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../../src/config/demo.js';
import { parseConfig } from '../../src/config/load.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/redis-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const NGINX = '/usr/sbin/nginx';

/**
 * The shipped proxy setup, for real: docker-compose.yml and deploy/nginx.conf as files, and
 * Debian's nginx running the shipped nginx.conf (only the upstream addresses and the listen
 * port changed, since `gateway-1` resolves only inside compose) in front of a real gateway.
 * Clients connect from distinct loopback addresses (127.0.0.5, 127.0.0.6, ...), so the gateway
 * can only tell them apart if nginx passes the address on and the gateway trusts nginx for it.
 */

describe('docker-compose.yml', () => {
  const compose = parse(readFileSyncText('docker-compose.yml'), { merge: true }) as Record<string, any>;

  it('gives nginx a fixed address on the project network, and the gateways trust exactly that address', () => {
    const lbAddress = compose.services.lb.networks.default.ipv4_address as string;
    const subnet = compose.networks.default.ipam.config[0].subnet as string;
    expect(inSubnet(lbAddress, subnet)).toBe(true);
    expect(compose.services.lb.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
    for (const name of ['gateway-1', 'gateway-2']) {
      const gateway = compose.services[name];
      expect(gateway.environment.TRUST_PROXY).toBe(lbAddress);
      // Not reachable except through nginx: nobody else can send a forwarded address.
      expect(gateway.ports).toBeUndefined();
      // The gateway reads that environment as the compose file gives it.
      const config = parseConfig(readFileSyncText(relativeToRoot(DEMO_CONFIG_PATH)), 'demo.yaml', gateway.environment);
      expect(config.server.trustProxy).toBe(lbAddress);
    }
  });
});

describe('deploy/nginx.conf', () => {
  it('passes `nginx -t`', async () => {
    const dir = await nginxDir(await freePort(), [4000, 4001]);
    try {
      const result = spawnSync(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid; error_log stderr;`], { encoding: 'utf8' });
      expect(result.stderr).toContain('syntax is ok');
      expect(result.stderr).toContain('test is successful');
      expect(result.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('overwrites the client address headers rather than passing on what the client sent', () => {
    const text = readFileSyncText('deploy/nginx.conf');
    expect(text).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(text).toMatch(/proxy_set_header X-Real-IP \$remote_addr;/);
    expect(text).not.toContain('$proxy_add_x_forwarded_for');
  });
});

describe('a gateway behind the shipped nginx', () => {
  let gateway: TestGateway;
  let nginx: ChildProcess;
  let dir: string;
  let proxyUrl: string;
  const agents = new Map<string, Agent>();

  beforeAll(async () => {
    gateway = await startTestGateway({
      env: { TRUST_PROXY: '127.0.0.1' },
      patch: (config) => (config.limits = { authFailuresPerIpPerMinute: 5 }),
    });
    const port = await freePort();
    dir = await nginxDir(port, [Number(new URL(gateway.url).port)]);
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log stderr;`], { stdio: 'ignore' });
    await waitForPort(port);
    proxyUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      await new Promise<void>((resolve) => {
        nginx.once('exit', () => resolve());
        nginx.kill('SIGTERM');
      });
    }
    await Promise.all([...agents.values()].map((a) => a.close()));
    await gateway?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** POST /graphql to `base`, connecting from the loopback address `from`. */
  async function ask(base: string, from: string, token: string | null, headers: Record<string, string> = {}) {
    let agent = agents.get(from);
    if (!agent) {
      agent = new Agent({ localAddress: from });
      agents.set(from, agent);
    }
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify({ query: '{ viewer { clientId } }' }),
    });
    const body = (await response.json()) as { errors?: { extensions: Record<string, unknown> }[] };
    return { status: response.status, headers: response.headers, body };
  }

  it('does not publish /metrics: the gateway serves it, the proxy refuses it', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(200);
    for (const path of ['/metrics', '/metrics/', '/metrics?x=1']) {
      expect({ path, status: (await fetch(`${proxyUrl}${path}`)).status }).toEqual({ path, status: 404 });
    }
  });

  it('counts failed logins per real client: one blocked address never locks out a valid key, nor another client', async () => {
    const attacker = '127.0.0.5';
    const neighbour = '127.0.0.6';
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await ask(proxyUrl, attacker, `guess-${i}`);
      expect(answer.status).toBe(401);
      remaining.push(answer.headers.get('x-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const blocked = await ask(proxyUrl, attacker, 'guess-5');
    expect(blocked.status).toBe(429);
    expect(blocked.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', dimension: 'auth-failures' });
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);

    // From the very address that is blocked, every valid credential is served.
    for (const token of [DEMO_TOKENS.globexAdmin, DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.service, DEMO_TOKENS.platformAdmin]) {
      expect((await ask(proxyUrl, attacker, token)).status).toBe(200);
    }
    // Its bad tokens, and no token at all, still get 429.
    expect((await ask(proxyUrl, attacker, 'guess-6')).status).toBe(429);
    expect((await ask(proxyUrl, attacker, null)).status).toBe(429);

    // Another client behind the same nginx has its own count...
    expect((await ask(proxyUrl, neighbour, 'typo')).status).toBe(401);
    // ...and cannot borrow the blocked address by sending X-Forwarded-For itself: nginx replaces it.
    expect((await ask(proxyUrl, neighbour, 'typo', { 'x-forwarded-for': attacker })).status).toBe(401);
    expect((await ask(proxyUrl, neighbour, DEMO_TOKENS.globexAdmin)).status).toBe(200);
  });

  it('takes X-Forwarded-For only from the trusted proxy address', async () => {
    // Straight to the gateway from 127.0.0.7 (not trusted), claiming to be the blocked address:
    // the claim is ignored and 127.0.0.7 gets its own first failure.
    const direct = await ask(gateway.url, '127.0.0.7', 'guess', { 'x-forwarded-for': '127.0.0.5' });
    expect(direct.status).toBe(401);
    expect(direct.headers.get('x-ratelimit-remaining')).toBe('4');
  });
});

describe('a gateway with a metrics port behind the shipped nginx', () => {
  it('publishes no /metrics even with nginx’s own /metrics rule taken out; the metrics port serves it', async () => {
    // METRICS_PORT as docker-compose.yml sets it (test/observability/deploy.test.ts), a free port here.
    const gateway = await startTestGateway({ env: { TRUST_PROXY: '127.0.0.1', METRICS_PORT: '0' } });
    const port = await freePort();
    const dir = await nginxDir(port, [Number(new URL(gateway.url).port)], { metricsRule: false });
    const nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log stderr;`], { stdio: 'ignore' });
    try {
      await waitForPort(port);
      const proxyUrl = `http://127.0.0.1:${port}`;
      for (const path of ['/metrics', '/metrics/', '/metrics?x=1']) {
        const response = await fetch(`${proxyUrl}${path}`);
        // The gateway's own 404 (its JSON error body), passed on by nginx: the public port has no /metrics.
        const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
        expect({ path, status: response.status, code: body.errors[0]!.extensions.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
      }
      const graphql = await fetch(`${proxyUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
        body: JSON.stringify({ query: '{ viewer { clientId } }' }),
      });
      expect(graphql.status).toBe(200);
      const scrape = await fetch(`${gateway.metricsUrl}/metrics`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/^# TYPE graphql_requests_total counter$/m);
    } finally {
      if (nginx.exitCode === null) {
        await new Promise<void>((resolve) => {
          nginx.once('exit', () => resolve());
          nginx.kill('SIGTERM');
        });
      }
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function readFileSyncText(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

function relativeToRoot(path: string): string {
  return path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path;
}

/**
 * The shipped nginx.conf in a temp prefix, with `gateway-1`/`gateway-2` replaced by local ports;
 * `metricsRule: false` takes out its `/metrics` locations (the defence in depth), to test the gateway alone.
 */
async function nginxDir(listenPort: number, upstreamPorts: number[], { metricsRule = true }: { metricsRule?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nginx-test-'));
  // nginx's workers run as an unprivileged user when started as root: they need to read it.
  await chmod(dir, 0o755);
  const shipped = await readFile(join(ROOT, 'deploy/nginx.conf'), 'utf8');
  const servers = shipped.match(/^\s*server gateway-\d+:4000;$/gm) ?? [];
  expect(servers).toHaveLength(2);
  let text = shipped;
  for (const [i, line] of servers.entries()) text = text.replace(line, `    server 127.0.0.1:${upstreamPorts[i] ?? upstreamPorts[0]};`);
  expect(text).toMatch(/^\s*listen 4000;$/m);
  text = text.replace(/^(\s*)listen 4000;$/m, `$1listen 127.0.0.1:${listenPort};`);
  if (!metricsRule) {
    const rules = text.match(/^\s*location [^\n]*\/metrics\/? \{\n\s*return 404;\n\s*\}\n/gm) ?? [];
    expect(rules).toHaveLength(2);
    for (const rule of rules) text = text.replace(rule, '');
  }
  // Keep nginx's own files in the temp prefix (logs, temp bodies), not under /var.
  text = text.replace(/^http \{$/m, `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`);
  await writeFile(join(dir, 'nginx.conf'), text);
  return dir;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** IPv4 `address` inside `a.b.c.d/n`. */
function inSubnet(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const toInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(address) / size) === Math.floor(toInt(base) / size);
}
