import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/config/hash.js';
import { parseConfig } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload-scope.js';
import { configErrorOf, validYaml } from './helpers.js';

/** server.metricsPort, metricsHost and metricsTokenSha256, from the file and from METRICS_PORT, METRICS_HOST and METRICS_TOKEN. */

const TOKEN = 'metrics-scraper-token-0123456789';

describe('the metrics port and token settings', () => {
  it('have no default: /metrics stays on the public port, without a token', () => {
    const { server } = parseConfig(validYaml(), 'gateway.yaml', {});
    expect(server.metricsPort).toBeUndefined();
    expect(server.metricsHost).toBeUndefined();
    expect(server.metricsTokenSha256).toBeUndefined();
  });

  it('are read from the file, and METRICS_PORT, METRICS_HOST and METRICS_TOKEN (hashed) win over it', () => {
    const yaml = `server:\n  metricsPort: 9100\n  metricsHost: 10.0.0.5\n  metricsTokenSha256: ${'b'.repeat(64)}\n${validYaml()}`;
    expect(parseConfig(yaml, 'gateway.yaml', {}).server).toMatchObject({ metricsPort: 9100, metricsHost: '10.0.0.5', metricsTokenSha256: 'b'.repeat(64) });
    const config = parseConfig(yaml, 'gateway.yaml', { METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0', METRICS_TOKEN: `${TOKEN}\n` });
    expect(config.server).toMatchObject({ metricsPort: 9464, metricsHost: '0.0.0.0', metricsTokenSha256: sha256Hex(TOKEN) });
    // 0 picks a free port; an empty variable counts as unset.
    expect(parseConfig(yaml, 'gateway.yaml', { METRICS_PORT: '0', METRICS_HOST: '', METRICS_TOKEN: '' }).server).toMatchObject({
      metricsPort: 0,
      metricsHost: '10.0.0.5',
      metricsTokenSha256: 'b'.repeat(64),
    });
  });

  it.each(['http', '65536', '-1', '9464.5'])('refuses METRICS_PORT=%s, naming METRICS_PORT', (port) => {
    const error = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { METRICS_PORT: port }));
    expect(error.issues).toEqual([{ path: 'METRICS_PORT', message: `must be a whole number from 0 to 65535, got "${port}"` }]);
  });

  it('refuses a short or spaced METRICS_TOKEN without echoing it', () => {
    for (const token of ['short-token', 'a token with spaces in it']) {
      const error = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { METRICS_TOKEN: token }));
      expect(error.issues).toEqual([
        { path: 'METRICS_TOKEN', message: 'must be 16 to 512 printable ASCII characters without spaces (e.g. the output of `openssl rand -hex 32`)' },
      ]);
      expect(error.message).not.toContain(token);
    }
  });

  it('never echoes a plain token pasted into metricsTokenSha256', () => {
    const error = configErrorOf(() => parseConfig(`server:\n  metricsTokenSha256: ${TOKEN}\n${validYaml()}`, 'gateway.yaml', {}));
    expect(error.issues).toEqual([{ path: 'server.metricsTokenSha256', message: 'must be the lowercase hex SHA-256 of the token (64 characters)' }]);
    expect(error.message).not.toContain(TOKEN);
  });

  it('refuses the public port as the metrics port on the same address, naming where it came from', () => {
    const inFile = configErrorOf(() => parseConfig(`server:\n  port: 4000\n  metricsPort: 4000\n${validYaml()}`, 'gateway.yaml', {}));
    expect(inFile.issues).toEqual([
      { path: 'server.metricsPort', message: 'must differ from the public port (server.port, 4000): /metrics gets a listener of its own' },
    ]);
    const fromEnv = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { PORT: '8080', METRICS_PORT: '8080' }));
    expect(fromEnv.issues).toEqual([
      { path: 'METRICS_PORT', message: 'must differ from the public port (server.port, 8080): /metrics gets a listener of its own' },
    ]);
    // Another address, or both picked free (0): two listeners.
    expect(parseConfig(validYaml(), 'gateway.yaml', { PORT: '8080', METRICS_PORT: '8080', METRICS_HOST: '10.0.0.5' }).server.metricsPort).toBe(8080);
    expect(parseConfig(validYaml(), 'gateway.yaml', { PORT: '0', METRICS_PORT: '0' }).server.metricsPort).toBe(0);
  });

  it('reports the shared port together with a misplaced Redis credential', () => {
    const error = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { REDIS_PASSWORD: 'x', PORT: '8080', METRICS_PORT: '8080' }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['REDIS_PASSWORD', 'METRICS_PORT']);
  });

  it('applies a new token on reload; the port and host wait for a restart', () => {
    const running = parseConfig(`server:\n  metricsPort: 9100\n${validYaml()}`, 'gateway.yaml', {});
    const next = parseConfig(
      `server:\n  metricsPort: 9200\n  metricsHost: 0.0.0.0\n  metricsTokenSha256: ${'c'.repeat(64)}\n${validYaml()}`,
      'gateway.yaml',
      {},
    );
    const plan = planReload(running, next);
    expect(plan.applied).toEqual(['server.metricsTokenSha256']);
    expect(plan.needsRestart.sort()).toEqual(['server.metricsHost', 'server.metricsPort']);
    expect(plan.config.server).toMatchObject({ metricsPort: 9100, metricsTokenSha256: 'c'.repeat(64) });
    expect(plan.config.server.metricsHost).toBeUndefined();
  });
});
