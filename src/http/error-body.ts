import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '../errors/codes.js';
import type { GatewayError } from '../errors/gateway-error.js';

/**
 * Errors raised outside GraphQL execution (authentication, body parsing, unknown routes) are
 * still answered in the GraphQL response shape, so a client has one error format to read.
 */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): FastifyReply {
  return reply
    .status(ERROR_STATUS[code])
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/** The answer to a path no route serves, on every listener: `No route GET /metrics`. */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
}

/** A GatewayError built for GraphQL (its status and Retry-After in `extensions.http`) as a plain HTTP answer. */
export function sendGatewayError(reply: FastifyReply, error: GatewayError): FastifyReply {
  const { http, code, ...extensions } = error.extensions as { http?: { headers?: Map<string, string> }; code: string } & Record<string, unknown>;
  for (const [name, value] of http?.headers ?? []) reply.header(name, value);
  return sendError(reply, error.code, error.message, extensions);
}
