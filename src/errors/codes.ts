/**
 * Every error code a client can see in `errors[].extensions.code`, with the HTTP status the
 * gateway answers when that error decides the whole response (a field-level error inside a
 * partial result leaves the status at 200, as GraphQL over HTTP says).
 */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DOWNSTREAM_UNAVAILABLE: 502,
  DOWNSTREAM_TIMEOUT: 504,
  INTERNAL_SERVER_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
