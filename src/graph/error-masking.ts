import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from '../observability/logger.js';

/**
 * Apollo `formatError`: errors raised on purpose carry a code (our GatewayError codes, Apollo's
 * GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED / BAD_USER_INPUT / BAD_REQUEST) and go out as
 * they are. Anything Apollo had to code INTERNAL_SERVER_ERROR is a bug and is masked, so no
 * internal message or stack reaches a client; `logUnexpectedErrors` logs the original with the
 * request id. (Codes are compared rather than `instanceof GraphQLError`, which fails when
 * graphql is loaded both as ESM and CJS.)
 */
export function maskUnexpectedErrors(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  return {
    message: 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** True for errors `maskUnexpectedErrors` hides: those are the ones worth a log line. */
export function isUnexpected(error: unknown): boolean {
  const original = unwrapResolverError(error) as { extensions?: Record<string, unknown> } | null;
  const code = original?.extensions?.code;
  return typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR';
}

/** Logs every error that will be masked, with the request id a client sees in `x-request-id`. */
export function logUnexpectedErrors(logger: Logger, errors: readonly GraphQLError[], requestId: string): void {
  for (const error of errors) {
    if (isUnexpected(error)) logger.error({ err: error.originalError ?? error, requestId, path: error.path }, 'unexpected error');
  }
}
