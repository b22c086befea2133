import { describe, expect, it } from 'vitest';
import { estimateUsageMemory, formatEstimate } from '../../src/usage/memory-estimate.js';
import { useTestRedis } from '../support/redis-server.js';

const local = useTestRedis();

const MiB = 1024 * 1024;

describe('usage memory estimate (the figures in src/usage/MEMORY.md)', () => {
  it('measures every key class as a small listpack hash and keeps 1,000 always-active tenants near the documented 25 GiB', async () => {
    const estimate = await estimateUsageMemory(local.client);
    console.log(formatEstimate(estimate));
    for (const c of estimate.classes) {
      expect(c.encoding, c.name).toBe('listpack');
      expect(c.fields, c.name).toBeLessThanOrEqual(32);
      expect(c.bytesPerKey, c.name).toBeLessThan(400);
    }
    // MEMORY.md: 25.4 MiB per tenant in the first year, 1.1 MiB more per further year, ~25 GiB for 1,000.
    expect(estimate.bytesPerTenantFirstYear / MiB).toBeGreaterThan(25.4 * 0.85);
    expect(estimate.bytesPerTenantFirstYear / MiB).toBeLessThan(25.4 * 1.15);
    expect(estimate.bytesPerTenantPerYear / MiB).toBeLessThan(1.1 * 1.15);
    expect(estimate.totalFirstYear / 1024 / MiB).toBeLessThan(25 * 1.15);
    // The estimate cleans up after itself.
    expect(await local.client.dbsize()).toBe(0);
  });

  it('refuses a database that already holds keys', async () => {
    await local.client.set('someone-else', '1');
    await expect(estimateUsageMemory(local.client)).rejects.toThrow(
      'memory estimate needs an empty Redis database: DBSIZE is 1; point it at a scratch instance',
    );
    expect(await local.client.get('someone-else')).toBe('1');
    await local.client.del('someone-else');
  });
});
