import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/config/hash.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ configPollIntervalMs: 100 });
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
      config.apiKeys = config.apiKeys.filter((k: any) => k.id !== 'acme-web');
      config.apiKeys.push({ id: 'acme-rotated', tenant: 'acme', role: 'viewer', sha256: sha256Hex(newKey) });
    });
    expect(await eventually(async () => (await statusWith(newKey)) === 200)).toBe(true);
    expect(await statusWith(DEMO_TOKENS.acmeAdmin)).toBe(401);
  });

  it('refuses an invalid file and keeps serving with the previous config', async () => {
    await gateway.writeConfig((config) => {
      config.apiKeys.push({ id: 'broken', tenant: 'nowhere', role: 'king', sha256: 'nope' });
    });
    // Give the watcher several poll intervals to (not) apply it.
    await new Promise((r) => setTimeout(r, 600));
    // The previous config (from the test above: rotated key in, acme-web out) stays in force.
    expect(await statusWith(newKey)).toBe(200);
    expect(await statusWith(DEMO_TOKENS.acmeAdmin)).toBe(401);
    expect(gateway.config.current().apiKeys.some((k) => k.id === 'broken')).toBe(false);
  });

  it('applies changed plan limits without a restart', async () => {
    await gateway.writeConfig((config) => {
      config.apiKeys.push({ id: 'acme-limited', tenant: 'acme', role: 'viewer', sha256: sha256Hex('limited-key') });
      config.plans.free.limits.requestsPerMinute = 7;
    });
    expect(await eventually(async () => (await gateway.gql('limited-key', '{ viewer { clientId } }')).headers.get('x-ratelimit-limit') === '7')).toBe(true);
  });
});
