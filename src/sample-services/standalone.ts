/**
 * `npm run sample-services`: the four sample services on fixed ports, for running the gateway
 * against them from another process. Ports from ACCOUNTS_PORT (4101), CATALOG_PORT (4102),
 * ORDERS_PORT (4103), INVENTORY_PORT (4104); interface from HOST (127.0.0.1).
 */
import { SAMPLE_SERVICE_NAMES, startSampleServices, type SampleServiceName, type SampleServices } from './start.js';

const DEFAULT_PORTS: Record<SampleServiceName, number> = { accounts: 4101, catalog: 4102, orders: 4103, inventory: 4104 };

function portFromEnv(name: SampleServiceName): number {
  const variable = `${name.toUpperCase()}_PORT`;
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return DEFAULT_PORTS[name];
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new Error(`${variable} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

let services: SampleServices;
try {
  const ports = Object.fromEntries(SAMPLE_SERVICE_NAMES.map((name) => [name, portFromEnv(name)]));
  services = await startSampleServices({ host: process.env.HOST || '127.0.0.1', ports });
} catch (error) {
  // A bad variable or a taken port: one line that says which, not a stack trace.
  console.error(`sample-services: ${(error as Error).message}`);
  process.exit(1);
}
for (const name of SAMPLE_SERVICE_NAMES) console.log(`${name.padEnd(9)} ${services.urls[name]}`);
console.log('admin: GET /_admin/counters, GET /_admin/requests, POST /_admin/knobs, POST /_admin/reset');

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  // A second signal while closing means "now": do not wait for slow sockets.
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing sample services`);
  services.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
