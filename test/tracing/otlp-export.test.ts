import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
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
  // Spans go out in batches (every 5 s by default): the close exports what is left.
  await gateway.close();
  expect(await eventually(() => received.length > 0)).toBe(true);
  const all = Buffer.concat(received.map((r) => r.body)).toString('latin1');
  expect(received.every((r) => r.path === '/v1/traces' && r.contentType === 'application/x-protobuf')).toBe(true);
  for (const text of ['gateway-under-test', 'POST /graphql', 'graphql.operation.name', 'Who', 'gateway.tenant.id', 'globex']) expect(all).toContain(text);
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
