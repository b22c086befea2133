import type { FastifyReply } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '../errors/codes.js';

/**
 * Errors raised outside GraphQL execution (authentication, body parsing, unknown routes) are
 * still answered in the GraphQL response shape, so a client has one error format to read.
 */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .status(ERROR_STATUS[code])
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message, extensions: { code, ...extensions } }] });
}
