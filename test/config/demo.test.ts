import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../../src/config/demo.js';
import { sha256Hex } from '../../src/config/hash.js';
import { loadConfigFile } from '../../src/config/load.js';

describe('config/demo.yaml', () => {
  it('is found from DEMO_CONFIG_PATH and is valid', async () => {
    expect(isAbsolute(DEMO_CONFIG_PATH)).toBe(true);
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    expect(Object.keys(config.plans).sort()).toEqual(['enterprise', 'free', 'pro']);
    expect(config.tenants).toMatchObject({
      acme: { displayName: 'Acme Corp', plan: 'free', timeZone: 'UTC' },
      globex: { displayName: 'Globex', plan: 'pro', timeZone: 'America/New_York' },
      initech: { displayName: 'Initech', plan: 'enterprise' },
    });
    // No URLs (embedded sample services) and no Redis (in-memory stores).
    expect(Object.values(config.downstream).map((service) => service.url)).toEqual([undefined, undefined, undefined, undefined]);
    expect(config.redis.url).toBeUndefined();
  });

  it('gives each plan the limits of the product brief', async () => {
    const { plans } = await loadConfigFile(DEMO_CONFIG_PATH, {});
    expect(plans.free?.limits).toEqual({
      requestsPerMinute: 100,
      requestsPerDay: 1000,
      requestsPerMonth: 20000,
      costPerMinute: 1000,
      maxOperationCost: 500,
      responseBytesPerHour: 50_000_000,
      fieldLimits: { 'Mutation.placeOrder': { limit: 20, windowSeconds: 60 } },
      // Graduated throttling (issue 17): 20 requests over the minute held up to 3 s, not refused.
      burst: { requests: 20, maxDelayMs: 3000 },
    });
    expect(plans.pro?.limits).toEqual({
      requestsPerMinute: 1000,
      requestsPerDay: 'unlimited',
      requestsPerMonth: 'unlimited',
      costPerMinute: 20000,
      maxOperationCost: 5000,
      responseBytesPerHour: 1_000_000_000,
    });
    expect(plans.enterprise?.limits).toMatchObject({ requestsPerMinute: 10000, maxOperationCost: 50000 });
  });

  it('holds the SHA-256 of every demo token, with the documented id, tenant and role', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    const apiKey = (token: string) => config.apiKeys.find((key) => key.sha256 === sha256Hex(token));
    expect(apiKey(DEMO_TOKENS.acmeAdmin)).toMatchObject({ id: 'acme-admin', tenant: 'acme', role: 'admin' });
    expect(apiKey(DEMO_TOKENS.globexAdmin)).toMatchObject({ id: 'globex-admin', tenant: 'globex', role: 'admin' });
    expect(apiKey(DEMO_TOKENS.globexViewer)).toMatchObject({ id: 'globex-viewer', tenant: 'globex', role: 'viewer' });
    expect(apiKey(DEMO_TOKENS.globexSupport)).toMatchObject({
      id: 'globex-support',
      tenant: 'globex',
      role: 'support',
    });
    expect(apiKey(DEMO_TOKENS.initechAdmin)).toMatchObject({ id: 'initech-admin', tenant: 'initech', role: 'admin' });
    expect(config.apiKeys).toHaveLength(5);

    expect(config.serviceTokens).toEqual([{ id: 'reporting-job', tenant: 'initech', role: 'viewer', sha256: sha256Hex(DEMO_TOKENS.service) }]);
    expect(config.platformAdminKeys).toEqual([{ id: 'platform-ops', sha256: sha256Hex(DEMO_TOKENS.platformAdmin) }]);
  });

  it('names each API key after its token, so the key a user signed in with is the one the pages list', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    for (const key of config.apiKeys) expect(sha256Hex(`demo-${key.id}`), key.id).toBe(key.sha256);
  });

  it('says in its header, in words, what goes in `sha256`: no hash pasted into prose', async () => {
    const text = await readFile(DEMO_CONFIG_PATH, 'utf8');
    expect(text).toContain('Only the SHA-256 hash of a token goes in `sha256`');
    const prose = text.split('\n').filter((line) => line.trimStart().startsWith('#'));
    expect(prose.filter((line) => /[0-9a-f]{64}/.test(line))).toEqual([]);
  });
});
