import { type Context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { CallSpan, CallTrace } from '../downstream/call-context.js';

/**
 * A sampled request's downstream HTTP attempts in its trace (downstream/exchange.ts starts one per
 * attempt): a CLIENT span each, named and described as the HTTP semantic conventions say, whose
 * `traceparent` the service receives.
 */
export function callTraceOf(tracer: Tracer, parent: Context): CallTrace {
  return {
    start(method, url) {
      const server = serverOf(url);
      const span = tracer.startSpan(
        method,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': method,
            'url.full': url,
            'server.address': server.address,
            'server.port': server.port,
          },
        },
        parent,
      );
      return {
        headers: headersOf(trace.setSpan(parent, span)),
        end(outcome) {
          if ('status' in outcome) {
            span.setAttribute('http.response.status_code', outcome.status);
            // HTTP semantic conventions: a client span is an error for 4xx and 5xx alike.
            if (outcome.status >= 400) {
              span.setAttribute('error.type', String(outcome.status));
              span.setStatus({ code: SpanStatusCode.ERROR });
            }
          } else {
            span.setAttribute('error.type', outcome.error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: `no response from ${server.host}` });
          }
          span.end();
        },
      };
    },
  };
}

/** A service's address as the HTTP semantic conventions name it, and its `host` (with the port when one is written). */
interface ServerAddress {
  address: string;
  port: number;
  host: string;
}

/** By origin: a request's calls go to a few configured services, and parsing a URL is the dearest part of starting a client span. */
const servers = new Map<string, ServerAddress>();
const MAX_ORIGINS = 256;

function serverOf(url: string): ServerAddress {
  const end = url.indexOf('/', url.indexOf('//') + 2);
  const origin = end < 0 ? url : url.slice(0, end);
  let known = servers.get(origin);
  if (known === undefined) {
    const { host, hostname, port, protocol } = new URL(url);
    known = { address: hostname, port: port === '' ? (protocol === 'https:' ? 443 : 80) : Number(port), host };
    if (servers.size >= MAX_ORIGINS) servers.clear();
    servers.set(origin, known);
  }
  return known;
}

/**
 * An unsampled request's downstream calls: no span, and the same headers on every attempt, its
 * trace's ids with the sampled flag off, so the services follow the same decision. The headers
 * are made on the first call: a request answered from the cache makes none.
 */
export function unsampledCallsOf(headersOf: () => Record<string, string>): CallTrace {
  let untraced: CallSpan | undefined;
  return { start: () => (untraced ??= { headers: headersOf(), end() {} }) };
}

/** The W3C headers of a context (`traceparent`, and `tracestate` when the caller sent one). */
export function headersOf(context: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context, headers);
  return headers;
}
