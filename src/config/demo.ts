import { fileURLToPath } from 'node:url';

/** Absolute path of `config/demo.yaml`, the config `npm start` uses when given none. */
export const DEMO_CONFIG_PATH = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

/**
 * The plain tokens whose hashes `config/demo.yaml` holds. They are public (the README lists
 * them) and only good against the demo config; tests and the start banner use them.
 */
export const DEMO_TOKENS = {
  /** API key `acme-admin`: tenant acme (free), role admin. */
  acmeAdmin: 'demo-acme-admin',
  /** API key `globex-admin`: tenant globex (pro), role admin. */
  globexAdmin: 'demo-globex-admin',
  /** API key `globex-viewer`: tenant globex, role viewer. */
  globexViewer: 'demo-globex-viewer',
  /** API key `globex-support`: tenant globex, role support. */
  globexSupport: 'demo-globex-support',
  /** API key `initech-admin`: tenant initech (enterprise), role admin. */
  initechAdmin: 'demo-initech-admin',
  /** Service token `reporting-job`: acts for tenant initech, role viewer. */
  service: 'demo-service-token',
  /** Publishable key `acme-storefront`: tenant acme, role viewer, from http://localhost:5173 and http://127.0.0.1:5173 only. */
  acmePublishable: 'demo-acme-publishable',
  /** Platform admin key `platform-ops`: bound to no tenant. */
  platformAdmin: 'demo-platform-admin',
} as const;
