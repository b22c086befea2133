import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { memoryLogger } from '../config/helpers.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway } from '../support/gateway.js';

/** A stand-in OTLP/HTTP collector: it keeps what it is sent. */
const received: { path: string; contentType: string; body: Buffer }[] = [];
const collector = createServer((req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
beforeAll(() => new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

it('OTEL_TRACES_EXPORTER=otlp sends the spans to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces as protobuf; closing flushes them', async () => {
  const { port } = collector.address() as AddressInfo;
  const gateway = await startTestGateway({
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'gateway-under-test' },
  });
  const response = await gateway.gql(DEMO_TOKENS.globexAdmin, 'query Who { viewer { tenant { displayName } } }');
  expect(response.status).toBe(200);
  // Spans go out in batches: the close exports what is left.
  await gateway.close();
  expect(await eventually(() => received.length > 0)).toBe(true);
  const all = Buffer.concat(received.map((r) => r.body)).toString('latin1');
  expect(received.every((r) => r.path === '/v1/traces' && r.contentType === 'application/x-protobuf')).toBe(true);
  for (const text of ['gateway-under-test', 'POST /graphql', 'graphql.operation.name', 'Who', 'gateway.tenant.id', 'globex']) expect(all).toContain(text);
});

it('spans go out in batches every 500 ms at most without waiting for a close, and OTEL_BSP_SCHEDULE_DELAY is honoured', async () => {
  const { port } = collector.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  /** When the collector first received a span of `service` after `since`, or null after `withinMs`. */
  const firstExport = async (service: string, since: number, withinMs: number) => {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (received.some((r) => r.body.toString('latin1').includes(service))) return Date.now() - since;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return null;
  };
  const quick = await startTestGateway({ env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'quick-batches' } });
  const slow = await startTestGateway({
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'slow-batches', OTEL_BSP_SCHEDULE_DELAY: '60000' },
  });
  try {
    const sent = Date.now();
    expect((await quick.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    expect((await slow.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    // The SDK's own default would hold them 5 s; the gateway's is 500 ms (settings.ts, DEFAULT_EXPORT_BATCH).
    expect(await firstExport('quick-batches', sent, 3000)).not.toBeNull();
    // An operator's OTEL_BSP_SCHEDULE_DELAY wins: a minute, so nothing yet.
    expect(await firstExport('slow-batches', sent, 500)).toBeNull();
  } finally {
    await quick.close();
    await slow.close();
  }
  // Closing flushes what the long delay held.
  expect(await eventually(() => received.some((r) => r.body.toString('latin1').includes('slow-batches')))).toBe(true);
});

it('a collector that never answers does not hold the stop: close gives up on the last spans after 2 s', async () => {
  // Takes the export's connection and never answers it (the OTLP exporter's own timeout is 10 s).
  const hanging = createServer(() => {});
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = hanging.address() as AddressInfo;
    const gateway = await startTestGateway({ env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { tenant { displayName } } }')).status).toBe(200);
    const started = Date.now();
    const closed = await Promise.race([gateway.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still closing'), 8000))]);
    expect(closed).toBe('closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  } finally {
    hanging.closeAllConnections();
    hanging.close();
  }
});

it('a collector that answers 500, or is down: the gateway goes on serving, logs the failed exports, and closes in bounded time', async () => {
  const failing = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  // A port nobody listens on: connections refused, which the exporter retries for up to its 10 s timeout.
  const down = createServer();
  await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
  const downPort = (down.address() as AddressInfo).port;
  await new Promise<void>((resolve) => down.close(() => resolve()));
  try {
    for (const port of [(failing.address() as AddressInfo).port, downPort]) {
      const { logger, lines } = memoryLogger();
      const gateway = await startTestGateway({ env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }, logger });
      for (let i = 0; i < 5; i++) {
        expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { tenant { displayName } } }')).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 100)); // past a batch or two (200 ms)
      }
      if (port !== downPort) {
        // The SDK's report of the failed export, in the gateway's log.
        const failed = () => lines.some((line) => line.component === 'tracing' && line.level === 50 && /OTLPExporterError.*500/.test(String(line.msg)));
        expect(await eventually(failed)).toBe(true);
      }
      const started = Date.now();
      await gateway.close();
      expect(Date.now() - started).toBeLessThan(4000); // SHUTDOWN_EXPORT_MS (2 s) and the rest of the close
    }
  } finally {
    failing.close();
  }
});
