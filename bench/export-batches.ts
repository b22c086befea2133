import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, NodeTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { pino } from 'pino';
import { startExportThread } from '../src/tracing/worker-exporter.js';

/**
 * `npx tsx bench/export-batches.ts [sizes]`: what the OTLP export thread (src/tracing/worker-exporter.ts)
 * costs per span at each batch size (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`), the main thread and the
 * others apart. 4,096 spans shaped like a sampled request's (server, operation, limit decision,
 * downstream call) go out in batches to a local sink, one export at a time; medians of 9 rounds,
 * the sizes interleaved. The main thread's figure includes the sink's own HTTP server (it runs
 * in this process); the other threads' is the export thread's, with V8's helper threads.
 * Compared within one run, sizes against each other: an absolute figure moves with the machine.
 */
const SIZES = (process.argv[2] ?? '64,256,512').split(',').map(Number);
const SPANS = 4096;
const ROUNDS = 9;

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const resource = resourceFromAttributes({ 'service.name': 'export-batches' });
const spans = requestSpans(Math.max(...SIZES) / 4);
const thread = startExportThread({
  url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`,
  resource,
  logger: pino({ level: 'silent' }),
});
try {
  for (const size of SIZES) await perSpanUs(size); // warm-up
  const results = new Map(SIZES.map((size) => [size, { main: [] as number[], others: [] as number[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      const { main, others } = await perSpanUs(size);
      results.get(size)!.main.push(main);
      results.get(size)!.others.push(others);
    }
  }
  for (const [size, { main, others }] of results) {
    console.log(`batches of ${size}: per span, main thread ${median(main).toFixed(2)} µs, other threads ${median(others).toFixed(2)} µs`);
  }
} finally {
  await thread.shutdown();
  sink.close();
}

/** CPU per span of exporting SPANS spans in batches of `size`, one export after another. */
async function perSpanUs(size: number): Promise<{ main: number; others: number }> {
  const mainBefore = mainThreadUs();
  const wholeBefore = processUs();
  for (let sent = 0; sent < SPANS; sent += size) {
    await new Promise<void>((resolve) => thread.export(spans.slice(0, size), () => resolve()));
  }
  const main = mainThreadUs() - mainBefore;
  return { main: main / SPANS, others: (processUs() - wholeBefore - main) / SPANS };
}

/** This thread's CPU time, µs (the main thread's task: its id is the process id). */
function mainThreadUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

function processUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

/** The spans of `requests` sampled requests as the gateway makes them, with their attributes. */
function requestSpans(requests: number): ReadableSpan[] {
  const recorder = new InMemorySpanExporter();
  const tracer = new NodeTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(recorder)] }).getTracer('experience-gateway');
  for (let i = 0; i < requests; i++) {
    const server = tracer.startSpan(
      'POST /graphql',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'url.path': '/graphql', 'url.scheme': 'http', 'client.address': '127.0.0.1' },
      },
      ROOT_CONTEXT,
    );
    const serverContext = trace.setSpan(ROOT_CONTEXT, server);
    const operation = tracer.startSpan('query', { kind: SpanKind.SERVER }, serverContext);
    operation.setAttributes({
      'graphql.operation.type': 'query',
      'graphql.document': '{ viewer { tenant { displayName } } dashboard { customerCount recentOrders { id total { formatted } customer { name } } } }',
      'gateway.tenant.id': 'initech',
      'gateway.plan.id': 'enterprise',
      'gateway.cost.estimated': 57,
      'gateway.cost.actual': 31,
      'gateway.limit.decision': 'allowed',
    });
    const operationContext = trace.setSpan(serverContext, operation);
    tracer.startSpan('limit decision', { attributes: { 'gateway.cost.estimated': 57 } }, operationContext).end();
    const call = tracer.startSpan(
      'GET',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': 'GET', 'url.full': 'http://127.0.0.1:41234/orders?first=5', 'server.address': '127.0.0.1', 'server.port': 41234 },
      },
      operationContext,
    );
    call.setAttribute('http.response.status_code', 200);
    call.end();
    operation.end();
    server.setAttribute('http.response.status_code', 200);
    server.end();
  }
  return recorder.getFinishedSpans();
}
