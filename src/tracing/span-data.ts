import type { Attributes, HrTime, Link, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-node';

/**
 * A finished span as plain data, for the export thread (otlp-export-worker.mjs): exactly what
 * `@opentelemetry/otlp-transformer`'s protobuf serializer reads of a ReadableSpan
 * (trace/protobuf/trace-serializer.js), nothing more (`duration` and `ended` it never reads). Plain
 * values only, so `postMessage` copies it with the structured clone, natively; a ReadableSpan
 * itself holds functions and its processor, which cannot be copied.
 */
export interface SpanData {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  traceFlags: number;
  /** The W3C `tracestate` header value; undefined when the trace has none. */
  traceState: string | undefined;
  parentSpanId: string | undefined;
  parentIsRemote: boolean | undefined;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  droppedAttributesCount: number;
  /** Already plain data (name, time, attributes). */
  events: TimedEvent[];
  droppedEventsCount: number;
  links: LinkData[];
  droppedLinksCount: number;
  status: SpanStatus;
  /** Index of its instrumentation scope in the batch's `scopes`. */
  scope: number;
}

/** A span link as plain data: its context's trace state serialized, as for the span's own. */
export interface LinkData {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState: string | undefined;
  isRemote: boolean | undefined;
  attributes: Attributes | undefined;
  droppedAttributesCount: number | undefined;
}

/** One export's spans, and the instrumentation scopes they name (by index; usually one, the gateway's). */
export interface SpanBatch {
  scopes: InstrumentationScope[];
  spans: SpanData[];
}

/** Shared by every span without links (all of the gateway's): no array made per span. */
const NO_LINKS: LinkData[] = [];

/** A batch of finished spans as plain data. This is all the main thread does of an export. */
export function spanBatchOf(spans: readonly ReadableSpan[]): SpanBatch {
  const scopes: InstrumentationScope[] = [];
  const data: SpanData[] = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    data[i] = spanDataOf(span, scopeIndex(scopes, span.instrumentationScope));
  }
  return { scopes, spans: data };
}

/**
 * The serializer groups spans by scope object identity; the thread rebuilds one object per index,
 * so spans of one scope stay one group. A linear search: a batch names one or two scopes.
 */
function scopeIndex(scopes: InstrumentationScope[], scope: InstrumentationScope): number {
  for (let i = 0; i < scopes.length; i++) if (scopes[i] === scope) return i;
  scopes.push(scope);
  return scopes.length - 1;
}

function spanDataOf(span: ReadableSpan, scope: number): SpanData {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return {
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    traceState: context.traceState?.serialize(),
    parentSpanId: parent?.spanId,
    parentIsRemote: parent?.isRemote,
    startTime: span.startTime,
    endTime: span.endTime,
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events,
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.length === 0 ? NO_LINKS : span.links.map(linkDataOf),
    droppedLinksCount: span.droppedLinksCount,
    status: span.status,
    scope,
  };
}

function linkDataOf(link: Link): LinkData {
  const { context } = link;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    traceState: context.traceState?.serialize(),
    isRemote: context.isRemote,
    attributes: link.attributes,
    droppedAttributesCount: link.droppedAttributesCount,
  };
}
