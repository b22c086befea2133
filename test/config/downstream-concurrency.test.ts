import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { validYaml } from './helpers.js';

const withCatalog = (concurrency: string) => `${validYaml()}\ndownstream:\n  catalog:\n    concurrency:\n${concurrency}`;

describe('downstream concurrency config', () => {
  it('defaults: adaptive between 4 and 64, 20% for critical calls, a quarter of the queue per tenant, 1 s of age per class', () => {
    const config = parseConfig(validYaml(), 'gateway.yaml', {});
    expect(config.downstream.catalog.concurrency).toEqual({
      maxInFlight: 64,
      maxQueue: 256,
      minInFlight: 4,
      adaptive: true,
      criticalReservePercent: 20,
      maxQueuePerTenant: 64,
      agePerClassMs: 1000,
    });
  });

  it('derives the defaults from the bounds given: the floor never above maxInFlight, a tenant queue of at least 1', () => {
    const config = parseConfig(withCatalog('      maxInFlight: 2\n      maxQueue: 1\n'), 'gateway.yaml', {});
    expect(config.downstream.catalog.concurrency).toMatchObject({ maxInFlight: 2, minInFlight: 2, maxQueue: 1, maxQueuePerTenant: 1 });
  });

  it('refuses a floor above the ceiling and a tenant bound above the queue, naming the field and value', () => {
    let error: unknown;
    try {
      parseConfig(
        withCatalog('      maxInFlight: 8\n      minInFlight: 9\n      maxQueue: 10\n      maxQueuePerTenant: 11\n      criticalReservePercent: 95\n'),
        'gateway.yaml',
        {},
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual(
      expect.arrayContaining([{ path: 'downstream.catalog.concurrency.criticalReservePercent', message: 'Too big: expected number to be <=90' }]),
    );
    // The cross-field checks run once the fields themselves are valid.
    try {
      parseConfig(withCatalog('      maxInFlight: 8\n      minInFlight: 9\n      maxQueue: 10\n      maxQueuePerTenant: 11\n'), 'gateway.yaml', {});
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).issues).toEqual([
      { path: 'downstream.catalog.concurrency.minInFlight', message: 'must be at most maxInFlight (8), got 9' },
      { path: 'downstream.catalog.concurrency.maxQueuePerTenant', message: 'must be at most maxQueue (10), got 11' },
    ]);
  });
});
