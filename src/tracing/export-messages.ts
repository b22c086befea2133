import type { Attributes } from '@opentelemetry/api';
import type { SpanBatch } from './span-data.js';

/**
 * The messages between the main thread (worker-exporter.ts) and the export thread
 * (otlp-export-worker.mjs, which checks its side against these types with `checkJs`).
 */

/** The thread's `workerData`: where to send, and the resource, which is the same for every span and so sent once. */
export interface ExportThreadStart {
  /** The OTLP traces URL (`.../v1/traces`). */
  url: string;
  resource: { attributes: Attributes; schemaUrl: string | undefined };
}

/** Main thread to export thread. Each request is answered once, with its `id`. */
export type ToExportThread =
  | ({ type: 'export'; id: number } & SpanBatch)
  /** The OTLP exporter's forceFlush: every export sent has been answered. */
  | { type: 'flush'; id: number }
  /** The OTLP exporter's shutdown: flush, then close its HTTP agent. */
  | { type: 'shutdown'; id: number };

/** An Error as it crosses threads (its class does not). */
export interface ErrorData {
  name: string;
  message: string;
  /** Where it was thrown, in the export thread. */
  stack: string | undefined;
  /** An OTLPExporterError's HTTP status, when the collector answered one. */
  code?: number;
}

/** Export thread to main thread. */
export type FromExportThread =
  /** The export's result: no `error` is success. */
  | { type: 'exported'; id: number; error?: ErrorData }
  /** A flush or shutdown is done (`error` when it failed). */
  | { type: 'done'; id: number; error?: ErrorData }
  /** A warning or error of the OpenTelemetry SDK in the thread (its `diag`), for the gateway's log. */
  | { type: 'log'; level: 'warn' | 'error'; message: string; args: string[] };
