// The export thread: the official OTLP exporter (protobuf encoding and HTTP send) on a thread of
// its own, fed plain span data by worker-exporter.ts (which says why).
//
// JavaScript, not TypeScript: Node loads a worker's entry itself. Under vitest only the modules
// imported through vitest are transformed, and the compiled build runs plain `node`; a `.mjs`
// file runs unchanged under vitest, `tsx src/main.ts` and dist/ alike (tsc emits it there:
// tsconfig.json's allowJs). Types are still checked (checkJs) against export-messages.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { constants, setPriority } from 'node:os';
import { inspect } from 'node:util';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';

/**
 * @import { ExportResult } from '@opentelemetry/core';
 * @import { ReadableSpan } from '@opentelemetry/sdk-trace-node';
 * @import { Resource } from '@opentelemetry/resources';
 * @import { ExportThreadStart, ErrorData, FromExportThread, ToExportThread } from './export-messages.js';
 * @import { SpanBatch } from './span-data.js';
 */

const port = parentPort;
if (!port) throw new Error('otlp-export-worker.mjs runs as a worker thread (worker-exporter.ts starts it)');
const start = /** @type {ExportThreadStart} */ (workerData);

// Requests before spans: on Linux a thread's nice value is its own (setpriority on the calling
// thread, pid 0), so this thread alone runs at the lowest priority. An export (a burst of several
// ms of CPU a batch) then runs on CPU the request path leaves free instead of taking a core from
// it. Elsewhere (macOS) the same call would lower the whole process, so it is made on Linux only.
// Under saturation spans wait; once the queue is full the batch processor drops them and logs it,
// as it does for a slow collector. Lowering a priority is always permitted; were it refused, the
// thread would export at normal priority rather than not at all.
if (process.platform === 'linux') {
  try {
    setPriority(constants.priority.PRIORITY_LOW);
  } catch {}
}

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
    const spans = readSpans(batch);
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
 * What the serializer reads of each ReadableSpan, rebuilt from the batch's flat fields, read in
 * the order span-data.ts writes them.
 * @param {SpanBatch} batch
 * @returns {ReadableSpan[]}
 */
function readSpans({ fields, count, scopes }) {
  let at = 0;
  const next = () => fields[at++];
  const text = () => /** @type {string} */ (fields[at++]);
  const number = () => /** @type {number} */ (fields[at++]);
  const maybeText = () => /** @type {string | undefined} */ (fields[at++]);
  const maybeNumber = () => /** @type {number | undefined} */ (fields[at++]);
  const maybeFlag = () => /** @type {boolean | undefined} */ (fields[at++]);
  const attributes = () => {
    const size = number();
    if (size < 0) return undefined;
    /** @type {import('@opentelemetry/api').Attributes} */
    const read = {};
    for (let i = 0; i < size; i++) {
      const key = text();
      read[key] = /** @type {import('@opentelemetry/api').AttributeValue} */ (next());
    }
    return read;
  };
  /** @type {ReadableSpan[]} */
  const spans = new Array(count);
  for (let s = 0; s < count; s++) {
    const name = text();
    const kind = number();
    const context = { traceId: text(), spanId: text(), traceFlags: number(), traceState: traceStateOf(maybeText()) };
    const parentSpanId = maybeText();
    const parentIsRemote = maybeFlag();
    /** @type {[number, number]} */
    const startTime = [number(), number()];
    /** @type {[number, number]} */
    const endTime = [number(), number()];
    const code = number();
    const message = maybeText();
    const droppedAttributesCount = number();
    const droppedEventsCount = number();
    const droppedLinksCount = number();
    const scope = /** @type {ReadableSpan['instrumentationScope']} */ (scopes[number()]);
    const spanAttributes = attributes() ?? {};
    const events = Array.from({ length: number() }, () => ({
      name: text(),
      time: /** @type {[number, number]} */ ([number(), number()]),
      droppedAttributesCount: maybeNumber(),
      attributes: attributes(),
    }));
    const links = Array.from({ length: number() }, () => ({
      context: { traceId: text(), spanId: text(), traceFlags: number(), traceState: traceStateOf(maybeText()), isRemote: maybeFlag() },
      droppedAttributesCount: maybeNumber(),
      attributes: attributes(),
    }));
    spans[s] = {
      name,
      kind,
      spanContext: () => context,
      parentSpanContext:
        parentSpanId === undefined ? undefined : { traceId: context.traceId, spanId: parentSpanId, traceFlags: context.traceFlags, isRemote: parentIsRemote },
      startTime,
      endTime,
      attributes: spanAttributes,
      droppedAttributesCount,
      events,
      droppedEventsCount,
      links,
      droppedLinksCount,
      status: message === undefined ? { code } : { code, message },
      resource,
      // By index: one object per scope, shared by its spans, for the serializer's grouping.
      instrumentationScope: scope,
      // Not read by the serializer; given for the ReadableSpan type.
      duration: [0, 0],
      ended: true,
    };
  }
  return spans;
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
