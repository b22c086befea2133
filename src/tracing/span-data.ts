import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';

/** One value of a batch's flat encoding: a span's field, a count, an attribute's key or value. */
export type SpanField = string | number | boolean | undefined | AttributeValue;

/**
 * One export's finished spans as plain data for the export thread (otlp-export-worker.mjs
 * rebuilds from it exactly what `@opentelemetry/otlp-transformer`'s protobuf serializer reads of
 * a ReadableSpan; `duration` and `ended` it never reads). A ReadableSpan itself holds functions
 * and its processor, which `postMessage` cannot copy.
 *
 * Flat, one array of strings and numbers for the whole batch, not an object per span, event and
 * attribute set: the copy (`spanBatchOf` and `postMessage` together, on the main thread, the
 * gateway's bottleneck at saturation) took 1.0 µs a span of the gateway's spans against 2.1 µs as
 * objects (64-span batches, medians of 25 rounds, two runs).
 *
 * Each span, in this order (`readSpans` in the thread reads it back the same way):
 *   name, kind, traceId, spanId, traceFlags, traceState (serialized, or undefined),
 *   parentSpanId, parentIsRemote, startTime[0], startTime[1], endTime[0], endTime[1],
 *   status.code, status.message, droppedAttributesCount, droppedEventsCount, droppedLinksCount,
 *   scope (an index into `scopes`),
 *   attributes (below),
 *   the number of events, then per event: name, time[0], time[1], droppedAttributesCount, attributes,
 *   the number of links, then per link: traceId, spanId, traceFlags, traceState, isRemote,
 *   droppedAttributesCount, attributes.
 * Attributes: their number (-1 for none at all), then key and value, key and value...
 */
export interface SpanBatch {
  /** The instrumentation scopes the spans name by index (usually one, the gateway's). */
  scopes: InstrumentationScope[];
  /** How many spans `fields` holds. */
  count: number;
  fields: SpanField[];
}

/** A batch of finished spans as plain data. This is all the main thread does of an export. */
export function spanBatchOf(spans: readonly ReadableSpan[]): SpanBatch {
  const scopes: InstrumentationScope[] = [];
  const fields: SpanField[] = [];
  for (const span of spans) pushSpan(fields, span, scopeIndex(scopes, span.instrumentationScope));
  return { scopes, count: spans.length, fields };
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

function pushSpan(fields: SpanField[], span: ReadableSpan, scope: number): void {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  fields.push(
    span.name,
    span.kind,
    context.traceId,
    context.spanId,
    context.traceFlags,
    context.traceState?.serialize(),
    parent?.spanId,
    parent?.isRemote,
    span.startTime[0],
    span.startTime[1],
    span.endTime[0],
    span.endTime[1],
    span.status.code,
    span.status.message,
    span.droppedAttributesCount,
    span.droppedEventsCount,
    span.droppedLinksCount,
    scope,
  );
  pushAttributes(fields, span.attributes);
  fields.push(span.events.length);
  for (const event of span.events) {
    fields.push(event.name, event.time[0], event.time[1], event.droppedAttributesCount);
    pushAttributes(fields, event.attributes);
  }
  fields.push(span.links.length);
  for (const { context: linked, attributes, droppedAttributesCount } of span.links) {
    fields.push(linked.traceId, linked.spanId, linked.traceFlags, linked.traceState?.serialize(), linked.isRemote, droppedAttributesCount);
    pushAttributes(fields, attributes);
  }
}

function pushAttributes(fields: SpanField[], attributes: Attributes | undefined): void {
  if (attributes === undefined) {
    fields.push(-1);
    return;
  }
  const countAt = fields.length;
  fields.push(0);
  let count = 0;
  for (const key in attributes) {
    fields.push(key, attributes[key]);
    count++;
  }
  fields[countAt] = count;
}
