// The export thread: the official OTLP exporter (protobuf encoding and HTTP send) on a thread of
// its own, fed plain span data by worker-exporter.ts (which says why).
//
// JavaScript, not TypeScript: Node loads a worker's entry itself. Under vitest only the modules
// imported through vitest are transformed, and the compiled build runs plain `node`; a `.mjs`
// file runs unchanged under vitest, `tsx src/main.ts` and dist/ alike (tsc emits it there:
// tsconfig.json's allowJs). Types are still checked (checkJs) against export-messages.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { inspect } from 'node:util';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';

/**
 * @import { ExportResult } from '@opentelemetry/core';
 * @import { ReadableSpan } from '@opentelemetry/sdk-trace-node';
 * @import { Resource } from '@opentelemetry/resources';
 * @import { ExportThreadStart, ErrorData, FromExportThread, ToExportThread } from './export-messages.js';
 * @import { LinkData, SpanData } from './span-data.js';
 */

const port = parentPort;
if (!port) throw new Error('otlp-export-worker.mjs runs as a worker thread (worker-exporter.ts starts it)');
const start = /** @type {ExportThreadStart} */ (workerData);

/** @param {FromExportThread} message */
const reply = (message) => port.postMessage(message);

// The SDK's warnings and errors here go to the gateway's log through the main thread, as its own do (provider.ts).
diag.setLogger(
  {
    error: (message, ...args) => reply({ type: 'log', level: 'error', message, args: args.map(textOf) }),
    warn: (message, ...args) => reply({ type: 'log', level: 'warn', message, args: args.map(textOf) }),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

const exporter = new OTLPTraceExporter({ url: start.url });
/** One object for every span: the serializer groups spans by resource identity. Only `attributes` and `schemaUrl` are read. */
const resource = /** @type {Resource} */ (/** @type {unknown} */ ({ attributes: start.resource.attributes, schemaUrl: start.resource.schemaUrl }));

port.on('message', (/** @type {ToExportThread} */ message) => {
  switch (message.type) {
    case 'export':
      exportBatch(message);
      break;
    case 'flush':
      settle(message.id, () => exporter.forceFlush());
      break;
    case 'shutdown':
      settle(message.id, () => exporter.shutdown());
      break;
  }
});

/** @param {Extract<ToExportThread, { type: 'export' }>} batch */
function exportBatch(batch) {
  const { id } = batch;
  try {
    const spans = batch.spans.map((span) => readableSpanOf(span, batch.scopes));
    exporter.export(spans, (/** @type {ExportResult} */ result) => {
      if (result.code === ExportResultCode.SUCCESS) reply({ type: 'exported', id });
      else reply({ type: 'exported', id, error: errorDataOf(result.error ?? new Error('span export failed')) });
    });
  } catch (error) {
    // An exception here would end the thread; the batch fails instead.
    reply({ type: 'exported', id, error: errorDataOf(error) });
  }
}

/**
 * @param {number} id
 * @param {() => Promise<void>} work
 */
function settle(id, work) {
  work().then(
    () => reply({ type: 'done', id }),
    (error) => reply({ type: 'done', id, error: errorDataOf(error) }),
  );
}

/**
 * What the serializer reads of a ReadableSpan, rebuilt from the plain data (span-data.ts).
 * @param {SpanData} data
 * @param {ReadableSpan['instrumentationScope'][]} scopes
 * @returns {ReadableSpan}
 */
function readableSpanOf(data, scopes) {
  const context = { traceId: data.traceId, spanId: data.spanId, traceFlags: data.traceFlags, traceState: traceStateOf(data.traceState) };
  const span = {
    name: data.name,
    kind: data.kind,
    spanContext: () => context,
    parentSpanContext:
      data.parentSpanId === undefined
        ? undefined
        : { traceId: data.traceId, spanId: data.parentSpanId, traceFlags: data.traceFlags, isRemote: data.parentIsRemote },
    startTime: data.startTime,
    endTime: data.endTime,
    attributes: data.attributes,
    droppedAttributesCount: data.droppedAttributesCount,
    events: data.events,
    droppedEventsCount: data.droppedEventsCount,
    links: data.links.map(linkOf),
    droppedLinksCount: data.droppedLinksCount,
    status: data.status,
    resource,
    // By index: one object per scope, shared by its spans, for the serializer's grouping.
    instrumentationScope: /** @type {ReadableSpan['instrumentationScope']} */ (scopes[data.scope]),
    // Not read by the serializer; given for the ReadableSpan type.
    duration: /** @type {[number, number]} */ ([0, 0]),
    ended: true,
  };
  return span;
}

/** @param {LinkData} link */
function linkOf(link) {
  return {
    context: { traceId: link.traceId, spanId: link.spanId, traceFlags: link.traceFlags, traceState: traceStateOf(link.traceState), isRemote: link.isRemote },
    attributes: link.attributes,
    droppedAttributesCount: link.droppedAttributesCount,
  };
}

/**
 * The serializer only calls `serialize()` of a trace state.
 * @param {string | undefined} serialized
 * @returns {import('@opentelemetry/api').TraceState | undefined}
 */
function traceStateOf(serialized) {
  if (serialized === undefined) return undefined;
  const unsupported = () => {
    throw new Error('a trace state in the export thread can only be serialized');
  };
  return { serialize: () => serialized, set: unsupported, unset: unsupported, get: unsupported };
}

/**
 * @param {unknown} error
 * @returns {ErrorData}
 */
function errorDataOf(error) {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined };
  const data = { name: error.name, message: error.message, stack: error.stack };
  const code = /** @type {{ code?: unknown }} */ (error).code;
  return typeof code === 'number' ? { ...data, code } : data;
}

/** @param {unknown} value */
function textOf(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
}
