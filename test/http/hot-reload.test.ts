import { open, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { sha256Hex } from '../../src/config/hash.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

let gateway: TestGateway;
beforeAll(async () => {
  // The tests poll with keys that are not valid yet: each 401 counts as a failed authentication,
  // so the per-IP limit is raised out of the way (this file is not about brute force).
  gateway = await startTestGateway({ configPollIntervalMs: 100, patch: (config) => (config.limits = { authFailuresPerIpPerMinute: 100_000 }) });
});
afterAll(async () => {
  await gateway.close();
});

async function statusWith(token: string): Promise<number> {
  return (await gateway.gql(token, '{ viewer { clientId } }')).status;
}

describe('config hot reload on a running gateway', () => {
  const newKey = 'rotated-key-for-acme';

  it('applies a new key and a revoked key without a restart', async () => {
    expect(await statusWith(newKey)).toBe(401);
    await gateway.writeConfig((config) => {
      config.limits = { authFailuresPerIpPerMinute: 100_000 };
      config.apiKeys = config.apiKeys.filter((k: any) => k.id !== 'acme-admin');
      config.apiKeys.push({ id: 'acme-rotated', tenant: 'acme', role: 'viewer', sha256: sha256Hex(newKey) });
    });
    expect(await eventually(async () => (await statusWith(newKey)) === 200)).toBe(true);
    expect(await statusWith(DEMO_TOKENS.acmeAdmin)).toBe(401);
  });

  it('refuses an invalid file and keeps serving with the previous config', async () => {
    await gateway.writeConfig((config) => {
      config.limits = { authFailuresPerIpPerMinute: 100_000 };
      config.apiKeys.push({ id: 'broken', tenant: 'nowhere', role: 'king', sha256: 'nope' });
    });
    // Give the watcher several poll intervals to (not) apply it.
    await new Promise((r) => setTimeout(r, 600));
    // The previous config (from the test above: rotated key in, acme-admin out) stays in force.
    expect(await statusWith(newKey)).toBe(200);
    expect(await statusWith(DEMO_TOKENS.acmeAdmin)).toBe(401);
    expect(gateway.config.current().apiKeys.some((k) => k.id === 'broken')).toBe(false);
  });

  it('applies changed plan limits without a restart', async () => {
    await gateway.writeConfig((config) => {
      config.limits = { authFailuresPerIpPerMinute: 100_000 };
      config.apiKeys.push({ id: 'acme-limited', tenant: 'acme', role: 'viewer', sha256: sha256Hex('limited-key') });
      config.plans.free.limits.requestsPerMinute = 7;
    });
    expect(await eventually(async () => (await gateway.gql('limited-key', '{ viewer { clientId } }')).headers.get('x-ratelimit-limit') === '7')).toBe(true);
  });

  it('keeps every key working while the file is written in two chunks 500 ms apart, then applies the whole file', async () => {
    // The complete new file: one more key. Its first half (everything before `apiKeys:`) is a
    // valid config with no keys at all, as `cat > config.yaml` leaves it between two writes.
    const config = parse(await readFile(gateway.configPath, 'utf8')) as Record<string, any>;
    config.apiKeys.push({ id: 'acme-chunked', tenant: 'acme', role: 'viewer', sha256: sha256Hex('chunked-key') });
    const text = stringify(config);
    const cut = text.indexOf('apiKeys:');
    expect(cut).toBeGreaterThan(0);

    const statuses = new Set<number>();
    let writing = true;
    const probe = (async () => {
      while (writing) {
        statuses.add(await statusWith(DEMO_TOKENS.globexAdmin));
        await sleep(25);
      }
    })();
    const file = await open(gateway.configPath, 'w');
    try {
      await file.write(text.slice(0, cut));
      await sleep(500);
      await file.write(text.slice(cut));
    } finally {
      await file.close();
    }
    const applied = await eventually(async () => (await statusWith('chunked-key')) === 200, 6000);
    writing = false;
    await probe;
    expect(applied).toBe(true);
    expect([...statuses]).toEqual([200]);
  });

  it('applies a new preflight max-age to CORS preflights', async () => {
    const preflight = () =>
      fetch(`${gateway.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect((await preflight()).headers.get('access-control-max-age')).toBe('600');
    await gateway.writeConfig((config) => {
      config.limits = { authFailuresPerIpPerMinute: 100_000 };
      config.cors = { preflightMaxAgeSeconds: 120 };
    });
    expect(await eventually(async () => (await preflight()).headers.get('access-control-max-age') === '120')).toBe(true);
    expect((await preflight()).headers.get('cache-control')).toBe('max-age=120');
  });
});
