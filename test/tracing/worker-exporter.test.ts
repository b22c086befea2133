import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
// The serializer the OTLP exporter runs (a dependency of @opentelemetry/exporter-trace-otlp-proto): what the main thread used to send.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, NodeTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startExportThread } from '../../src/tracing/worker-exporter.js';
import { memoryLogger } from '../config/helpers.js';
import { eventually } from '../support/eventually.js';

/** A stand-in OTLP/HTTP collector: it keeps the bodies it is sent and answers `status`, after `delayMs`. */
let status = 200;
let delayMs = 0;
const bodies: Buffer[] = [];
const collector: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    bodies.push(Buffer.concat(chunks));
    setTimeout(() => res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(), delayMs);
  });
});
beforeAll(() => new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));
const collectorUrl = () => `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;

const require = createRequire(import.meta.url);
const resource = resourceFromAttributes({ 'service.name': 'thread-test', 'deployment.environment.name': 'test' });

/**
 * Finished spans with everything the OTLP encoding carries: a remote parent with a trace state,
 * attributes of every kind, events, links, an error status, two instrumentation scopes.
 */
function richSpans(): ReadableSpan[] {
  const recorder = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(recorder)] });
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor=opaque,other=1'),
  });
  const gateway = provider.getTracer('experience-gateway');
  const other = provider.getTracer('another-scope', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
  const server = gateway.startSpan(
    'POST /graphql',
    {
      kind: SpanKind.SERVER,
      attributes: { text: 'é ünïcode ✓', integer: 42, double: 0.25, flag: true, texts: ['a', 'b'], numbers: [1, 2.5] },
      links: [
        {
          context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0, traceState: createTraceState('k=v') },
          attributes: { why: 'batch' },
        },
      ],
    },
    parent,
  );
  server.addEvent('exception', { 'exception.message': 'boom' });
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'it failed' });
  const child = other.startSpan('GET', { kind: SpanKind.CLIENT }, trace.setSpan(parent, server));
  child.end();
  gateway.startSpan('limit decision', {}, trace.setSpan(parent, server)).end();
  server.end();
  return recorder.getFinishedSpans();
}

function exported(thread: ReturnType<typeof startExportThread>, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => thread.export(spans, resolve));
}

it('the thread sends the very bytes the OTLP exporter would have sent from the main thread', async () => {
  const { logger } = memoryLogger();
  const thread = startExportThread({ url: collectorUrl(), resource, logger });
  try {
    const spans = richSpans();
    expect(spans).toHaveLength(3);
    bodies.length = 0;
    expect((await exported(thread, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect(bodies).toHaveLength(1);
    expect(Buffer.from(bodies[0]!).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!))).toBe(true);
  } finally {
    await thread.shutdown();
  }
});

it("a collector's refusal is the export's result, with its HTTP status; the thread goes on exporting", async () => {
  const { logger } = memoryLogger();
  const thread = startExportThread({ url: collectorUrl(), resource, logger });
  try {
    status = 400; // not retried by the exporter (429, 502, 503 and 504 are)
    const refused = await exported(thread, richSpans());
    expect(refused.code).toBe(ExportResultCode.FAILED);
    expect(refused.error).toMatchObject({ name: 'OTLPExporterError', code: 400 });
    status = 200;
    expect((await exported(thread, richSpans())).code).toBe(ExportResultCode.SUCCESS);
  } finally {
    status = 200;
    await thread.shutdown();
  }
});

it('a thread that dies is logged once; every export after it fails at once, and shutdown still resolves', async () => {
  const { logger, lines } = memoryLogger();
  // The OTLP exporter refuses this URL as it is made, which ends the thread as it starts (settings.ts refuses it before that).
  const thread = startExportThread({ url: 'http://[::1', resource, logger });
  const died = () => lines.filter((line) => line.msg === 'the OTLP export thread stopped; spans are no longer exported');
  expect(await eventually(() => died().length > 0)).toBe(true);
  expect(died()[0]).toMatchObject({ level: 50, err: { message: expect.stringContaining('Could not parse user-provided export URL') } });
  for (let i = 0; i < 3; i++) {
    const result = await exported(thread, richSpans());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/^the OTLP export thread has stopped/);
  }
  await thread.forceFlush();
  await thread.shutdown();
  expect(died()).toHaveLength(1);
});

/**
 * A Node process (under tsx, as `npm run dev`) that starts the thread and, with `exportOne`,
 * exports one span; then its script ends. Resolves with its output and how long it lived.
 */
async function runScript(exportOne: boolean): Promise<{ code: number | null; output: string; ms: number }> {
  // The script lives in a temp dir, where no node_modules is: its packages are given as the files this test resolves.
  const from = (specifier: string) => JSON.stringify(pathToFileURL(require.resolve(specifier)).href);
  const script = `
    import { resourceFromAttributes } from ${from('@opentelemetry/resources')};
    import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from ${from('@opentelemetry/sdk-trace-node')};
    import { pino } from ${from('pino')};
    import { startExportThread } from ${JSON.stringify(new URL('../../src/tracing/worker-exporter.ts', import.meta.url).href)};
    const resource = resourceFromAttributes({ 'service.name': 'lifetime' });
    const thread = startExportThread({ url: ${JSON.stringify(collectorUrl())}, resource, logger: pino({ level: 'silent' }) });
    if (${exportOne}) {
      const recorder = new InMemorySpanExporter();
      new NodeTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(recorder)] }).getTracer('t').startSpan('one').end();
      thread.export(recorder.getFinishedSpans(), (result) => console.log('answered', result.code));
    }
  `;
  // A file, not `-e`: the thread inherits the process's Node flags, and `--input-type` refuses a file entry.
  const dir = await mkdtemp(join(tmpdir(), 'export-thread-'));
  const file = join(dir, 'script.mjs');
  await writeFile(file, script);
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A process the thread holds open would never end by itself.
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = Date.now() - started;
  clearTimeout(kill);
  await rm(dir, { recursive: true, force: true });
  return { code, output, ms };
}

it('the thread never keeps a process alive by itself; an export in flight does, until it is answered', async () => {
  const idle = await runScript(false);
  expect(idle).toMatchObject({ code: 0, output: '' });
  delayMs = 1500;
  try {
    const exporting = await runScript(true);
    expect(exporting).toMatchObject({ code: 0, output: 'answered 0\n' });
    expect(exporting.ms).toBeGreaterThanOrEqual(1500);
  } finally {
    delayMs = 0;
  }
});

/** The nice value of each thread of this process, by thread id (Linux: /proc/self/task/<tid>/stat). */
function niceByThread(): Map<string, number> {
  const nice = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // After the command name (in parentheses): state is the first field, nice the 17th.
    nice.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nice;
}

it.runIf(process.platform === 'linux')('the thread alone runs at the lowest scheduling priority: requests take the CPU first', async () => {
  const before = niceByThread();
  const thread = startExportThread({ url: collectorUrl(), resource, logger: memoryLogger().logger });
  try {
    await thread.forceFlush(); // answered: the thread has run its start
    const lowest = [...niceByThread()].filter(([tid, nice]) => nice === 19 && !before.has(tid));
    expect(lowest).toHaveLength(1);
    // Not the process: the main thread (whose id is the process's) keeps its priority.
    expect(niceByThread().get(String(process.pid))).toBe(before.get(String(process.pid)));
  } finally {
    await thread.shutdown();
  }
});
