import { tracingChannel } from 'node:diagnostics_channel';
import { context, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';

/** What ioredis (5.11+, built/tracing.js) publishes on its `ioredis:command` tracing channel, arguments already redacted. */
interface CommandMessage {
  command: string;
  args: string[];
  database: number;
  serverAddress: string;
  serverPort?: number;
  error?: unknown;
}

/**
 * A CLIENT span per Redis command sent inside a sampled trace, from ioredis's own diagnostics
 * channel: no module patching (which ESM loaded through tsx would make unreliable), and ioredis
 * publishes nothing while no one subscribes. Commands outside a trace (heartbeats, usage flushes,
 * polling) are left out, as are those of unsampled requests. Returns the unsubscribe.
 */
export function traceRedisCommands(tracer: Tracer): () => void {
  const channel = tracingChannel<CommandMessage, CommandMessage>('ioredis:command');
  const spans = new WeakMap<object, Span>();
  const handlers = {
    start(message: CommandMessage) {
      const parent = context.active();
      if (!trace.getSpan(parent)?.isRecording()) return;
      const operation = message.command.toUpperCase();
      const attributes: Record<string, string | number> = {
        'db.system.name': 'redis',
        'db.operation.name': operation,
        'db.namespace': String(message.database),
        'server.address': message.serverAddress,
      };
      if (message.serverPort !== undefined) attributes['server.port'] = message.serverPort;
      spans.set(message, tracer.startSpan(operation, { kind: SpanKind.CLIENT, attributes }, parent));
    },
    end() {},
    asyncStart() {},
    asyncEnd(message: CommandMessage) {
      spans.get(message)?.end();
    },
    error(message: CommandMessage) {
      const span = spans.get(message);
      if (!span) return;
      span.recordException(message.error instanceof Error ? message.error : String(message.error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
