import { GraphQLError } from 'graphql';
import { ERROR_STATUS, type ErrorCode } from './codes.js';

/**
 * A GraphQL error the gateway raises on purpose: it carries a code from `codes.ts` and, when it
 * decides the whole response, the HTTP status (Apollo Server reads `extensions.http.status`
 * and strips it from the body).
 */
export class GatewayError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: { extensions?: Record<string, unknown>; setHttpStatus?: boolean; cause?: unknown } = {}) {
    super(message, {
      originalError: options.cause instanceof Error ? options.cause : undefined,
      extensions: {
        code,
        ...options.extensions,
        ...(options.setHttpStatus ? { http: { status: ERROR_STATUS[code] } } : {}),
      },
    });
    this.code = code;
  }
}

/** Which downstream failure happened; each makes the affected fields null. */
export type DownstreamFailure = 'DOWNSTREAM_UNAVAILABLE' | 'DOWNSTREAM_TIMEOUT' | 'DOWNSTREAM_OVERLOADED';

/**
 * A downstream REST service did not answer usefully. `reason` says why in a word a client can
 * act on (`timeout`, `circuit_open`, `queue_full`, `http_503`, `network`, ...); `status` is the
 * downstream HTTP status when there was one.
 */
export class DownstreamError extends GatewayError {
  readonly service: string;
  readonly reason: string;
  readonly status: number | undefined;

  constructor(
    code: DownstreamFailure | 'BAD_USER_INPUT' | 'NOT_FOUND',
    service: string,
    reason: string,
    message: string,
    options: { status?: number; cause?: unknown; extensions?: Record<string, unknown> } = {},
  ) {
    super(code, message, { extensions: { ...options.extensions, service, reason }, cause: options.cause });
    this.service = service;
    this.reason = reason;
    this.status = options.status;
  }
}
