import type { ApolloServerPlugin } from '@apollo/server';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { GatewayContext } from '../graph/context.js';
import type { FastifyRequest } from 'fastify';
import type { CallTrace } from '../downstream/call-context.js';
import type { LimitGate } from '../limits/limit-gate.js';
import type { Logger } from '../observability/logger.js';

/** OpenTelemetry tracing as the gateway wires it (gateway.ts); every part is a no-op when tracing is off. */
export interface Tracing {
  readonly enabled: boolean;
  /** The `/graphql` route with its spans (http/server.ts): server span, request context, GraphQL operation span. */
  traceRoute<Route extends object>(route: Route): Route;
  /** Ends a traced request's server span once its response is sent (http/server.ts's onResponse); nothing for another request. */
  endRequest(request: FastifyRequest, statusCode: number): void;
  /** Binds the request's trace to its state as the state is made (http/pipeline.ts); its downstream calls' trace, undefined when off. */
  bindState(request: FastifyRequest, state: object): CallTrace | undefined;
  /** The GraphQL semantic conventions on the operation span. */
  readonly apolloPlugins: ApolloServerPlugin<GatewayContext>[];
  /** The limit gate with a span around each decision. */
  traceLimitGate(gate: LimitGate): LimitGate;
  /** Exports the spans still buffered and stops. */
  close(): Promise<void>;
}

export const NO_TRACING: Tracing = {
  enabled: false,
  traceRoute: (route) => route,
  endRequest: () => {},
  bindState: () => undefined,
  apolloPlugins: [],
  traceLimitGate: (gate) => gate,
  close: async () => {},
};

export interface TracingOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where spans go besides what `OTEL_TRACES_EXPORTER` names, exported one by one; turns tracing on (tests). */
  exporter?: SpanExporter;
}
