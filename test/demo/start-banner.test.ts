import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG_PATH, DEMO_TOKENS } from '../../src/config/demo.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startBanner } from '../../src/demo/start-banner.js';

const URL = 'http://127.0.0.1:4000';

describe('the start-up banner', () => {
  it('shows a new user the pages and every demo key at a glance', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    const banner = startBanner({ url: URL, metricsUrl: URL, configPath: undefined, config, embeddedServices: true });
    expect(banner).toContain(`GraphQL gateway ready: ${URL}/graphql`);
    expect(banner).toContain(`${URL}/dashboard/`);
    expect(banner).toContain(`${URL}/graphiql/`);
    expect(banner).toContain(`${URL}/docs/limits`);
    for (const token of Object.values(DEMO_TOKENS)) expect(banner).toContain(token);
    // Plans by their display names, as the pages write them.
    expect(banner).toMatch(/demo-acme-admin +admin of Acme Corp, Free\n/);
    expect(banner).toMatch(/demo-acme-publishable +publishable \(browser\) key of Acme Corp, Free/);
    expect(banner).toMatch(/demo-initech-admin +admin of Initech, Enterprise\n/);
  });

  it('says where /metrics is, and how to take it off the public port', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    const onPublic = startBanner({ url: URL, metricsUrl: URL, configPath: undefined, config, embeddedServices: true });
    expect(onPublic).toContain(`  metrics:    ${URL}/metrics   (on the public port: set METRICS_PORT to serve it on an internal port only)\n`);
    const own = startBanner({ url: URL, metricsUrl: 'http://127.0.0.1:9464', configPath: undefined, config, embeddedServices: true });
    expect(own).toContain('  metrics:    http://127.0.0.1:9464/metrics   (a port of its own, not the public one)\n');
  });

  it('lists no demo keys for a config of your own', async () => {
    const config = await loadConfigFile(DEMO_CONFIG_PATH, {});
    const banner = startBanner({ url: URL, metricsUrl: URL, configPath: '/etc/gateway.yaml', config, embeddedServices: false });
    expect(banner).toContain(`${URL}/dashboard/`);
    expect(banner).toContain('config:     /etc/gateway.yaml');
    expect(banner).toContain('backends:   configured URLs');
    for (const token of Object.values(DEMO_TOKENS)) expect(banner).not.toContain(token);
  });
});
