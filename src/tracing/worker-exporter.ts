import { Worker } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { Logger } from '../observability/logger.js';
import type { ErrorData, ExportThreadStart, FromExportThread, ToExportThread } from './export-messages.js';
import { spanBatchOf } from './span-data.js';

/** The thread's entry: beside this module, in src/ (tsx, vitest) and in dist/ (tsc emits it there: tsconfig.json's allowJs). */
const ENTRY = new URL('./otlp-export-worker.mjs', import.meta.url);

/** The OTLP span exporter, run by a thread of its own. */
export interface ExportThread extends SpanExporter {
  /** Resolves once every export sent to the thread has been answered. */
  forceFlush(): Promise<void>;
  /** Ends the thread now, exports in flight or not (provider.ts, once a stop has waited long enough). Idempotent. */
  terminate(): Promise<void>;
}

export interface ExportThreadOptions {
  /** The OTLP traces URL (`.../v1/traces`). */
  url: string;
  /** The provider's resource: the same for every span, so given to the thread once, as it starts. */
  resource: Resource;
  /** Where the thread's SDK warnings and its death are logged. */
  logger: Logger;
}

/** What answers a request to the thread: `undefined` when it succeeded. */
type Answer = (error: Error | undefined) => void;

/**
 * The official OTLP exporter (`@opentelemetry/exporter-trace-otlp-proto`) on a worker thread.
 * At saturation the main thread is the gateway's bottleneck, and encoding a sampled request's
 * spans to protobuf and sending them cost it about 65 µs a request (CPU profiles: otlp-transformer's
 * serializeSpan, writeString; node's HTTP client). Here the main thread only copies the spans'
 * plain data (span-data.ts) to the thread, which encodes and sends them and answers each
 * export's result. The BatchSpanProcessor in front stays on the main thread (batch size, delay).
 *
 * The thread holds the process open only while a request to it is in flight, as the exporter's
 * sockets did on the main thread. If it dies, that is logged once and every later export fails
 * (the SDK logs failed exports): never an exception on the request path.
 */
export function startExportThread({ url, resource, logger }: ExportThreadOptions): ExportThread {
  const start: ExportThreadStart = { url, resource: { attributes: resource.attributes, schemaUrl: resource.schemaUrl } };
  const worker = new Worker(ENTRY, { workerData: start });
  const pending = new Map<number, Answer>();
  let lastId = 0;
  /** Why nothing sent now would be answered: the thread has exited. */
  let gone: Error | undefined;
  let terminated: Promise<void> | undefined;
  let crash: unknown;

  function send(message: ToExportThread, answer: Answer): void {
    if (gone) {
      answer(gone);
      return;
    }
    try {
      worker.postMessage(message);
    } catch (error) {
      // Data the structured clone cannot copy: this export fails, the next may not.
      answer(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (pending.size === 0) worker.ref();
    pending.set(message.id, answer);
  }

  function settle(id: number, error: Error | undefined): void {
    const answer = pending.get(id);
    if (!answer) return;
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    answer(error);
  }

  /** A flush or shutdown of the thread's exporter; nothing to do once the thread is gone (its exit was logged). */
  function ask(type: 'flush' | 'shutdown'): Promise<void> {
    return new Promise((resolve, reject) => send({ type, id: ++lastId }, (error) => (error && error !== gone ? reject(error) : resolve())));
  }

  worker.on('message', (message: FromExportThread) => {
    if (message.type === 'log') logger[message.level]({ args: message.args }, message.message);
    else settle(message.id, message.error && errorOf(message.error));
  });
  worker.on('messageerror', (err) => logger.error({ err }, 'a message from the OTLP export thread could not be read'));
  // 'error' is an exception that ended the thread; 'exit' follows it.
  worker.on('error', (error) => (crash = error));
  worker.on('exit', (exitCode) => {
    gone = new Error(`the OTLP export thread has stopped (exit code ${exitCode})`);
    if (!terminated) logger.error({ err: crash, exitCode }, 'the OTLP export thread stopped; spans are no longer exported');
    for (const id of [...pending.keys()]) settle(id, gone);
  });
  // After the listeners: adding a 'message' listener refs the thread again.
  worker.unref();

  function terminate(): Promise<void> {
    terminated ??= worker.terminate().then(() => {});
    return terminated;
  }

  return {
    export(spans, resultCallback) {
      send({ type: 'export', id: ++lastId, ...spanBatchOf(spans) }, (error) =>
        resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS }),
      );
    },
    forceFlush: () => ask('flush'),
    async shutdown() {
      try {
        await ask('shutdown');
      } finally {
        await terminate();
      }
    },
    terminate,
  };
}

/** The thread's error, with its name, its stack in the thread and its HTTP status (OTLPExporterError's `code`). */
function errorOf({ name, message, stack, code }: ErrorData): Error {
  const error = new Error(message);
  error.name = name;
  if (stack !== undefined) error.stack = stack;
  return code === undefined ? error : Object.assign(error, { code });
}
