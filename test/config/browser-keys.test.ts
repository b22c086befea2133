import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { validYaml } from './helpers.js';

const hash = 'b'.repeat(64);

function errorLines(yaml: string): string[] {
  try {
    parseConfig(yaml, 'gateway.yaml', {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n').slice(1);
  }
  throw new Error('expected a ConfigError');
}

describe('publishable keys and CORS in the config', () => {
  it('fills a publishable key defaults: viewer, all trusted or not, 60 per address per minute', () => {
    const config = parseConfig(
      `${validYaml()}\npublishableKeys:\n  - { id: shop, tenant: acme, sha256: ${hash}, allowedOrigins: [https://shop.example] }\n`,
      'gateway.yaml',
      {},
    );
    expect(config.publishableKeys).toEqual([
      { id: 'shop', tenant: 'acme', role: 'viewer', sha256: hash, allowedOrigins: ['https://shop.example'], trustedDocumentsOnly: false, perIpPerMinute: 60 },
    ]);
  });

  it('refuses an admin publishable key, origins that are not origins, no origin, and an unknown tenant, all at once', () => {
    const lines = errorLines(
      `${validYaml()}\n` +
        `publishableKeys:\n  - { id: shop, tenant: nope, role: admin, sha256: ${hash}, allowedOrigins: [] }\n` +
        `  - { id: shop2, tenant: acme, sha256: ${'c'.repeat(64)}, allowedOrigins: ["https://shop.example/", "*"] }\n` +
        `cors:\n  preflightMaxAgeSeconds: -1\n`,
    );
    expect(lines).toEqual([
      '  - publishableKeys[0].role: must be viewer or support: a publishable key is public, it cannot be admin (got "admin")',
      '  - publishableKeys[0].allowedOrigins: must name at least one origin',
      '  - publishableKeys[1].allowedOrigins[0]: must be an origin like "https://app.example.com" (scheme://host[:port], no path, no wildcard; got "https://shop.example/")',
      '  - publishableKeys[1].allowedOrigins[1]: must be an origin like "https://app.example.com" (scheme://host[:port], no path, no wildcard; got "*")',
      '  - cors.preflightMaxAgeSeconds: Too small: expected number to be >=0',
      '  - publishableKeys[0].tenant: unknown tenant "nope"',
    ]);
  });

  it('refuses a publishable key that reuses another key id or token', () => {
    const lines = errorLines(
      `${validYaml()}\npublishableKeys:\n  - { id: acme-web, tenant: acme, sha256: ${'a'.repeat(64)}, allowedOrigins: [https://shop.example] }\n`,
    );
    expect(lines).toEqual(['  - publishableKeys[0].sha256: the same token is configured twice', '  - publishableKeys[0].id: duplicate key id "acme-web"']);
  });
});
