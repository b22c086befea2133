import type { GraphQLRequest, GraphQLResponse } from '@apollo/server';
import Negotiator from 'negotiator';

/** The errors GraphQL over HTTP calls request errors of a well-formed request: the document or variables are wrong. */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/** Apollo's own media types, in Apollo's order of preference, so the negotiation below picks what Apollo sends. */
const MEDIA_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];

/**
 * GraphQL over HTTP: a client that accepts `application/json` (legacy clients, and anyone sending
 * no Accept or `*\/*`) SHOULD get 200 for a parse, validation or variable-coercion failure, since
 * it cannot tell a GraphQL error from a proxy's 400; a client that accepts
 * `application/graphql-response+json` gets 400, which that media type makes unambiguous. Apollo
 * answers 400 to both; this step (the last of the request path's `willSendResponse`,
 * http/pipeline.ts) sets 200 for the first kind. Other refusals (rate limits, cost above the
 * plan's maximum, authentication) keep their status: they are not request errors in the spec's
 * sense, and clients act on their status.
 */
export function requestErrorStatus(request: GraphQLRequest, response: GraphQLResponse): void {
  if (response.body.kind !== 'single' || response.http.status !== 400) return;
  const result = response.body.singleResult;
  // `data` undefined, not absent: the request path gives every result all three fields (pipeline.ts, `ofStableShape`).
  if (result.data !== undefined || !result.errors?.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))) return;
  const accept = request.http?.headers.get('accept');
  const chosen = accept ? new Negotiator({ headers: { accept } }).mediaType(MEDIA_TYPES) : MEDIA_TYPES[0];
  if (chosen?.startsWith('application/json')) response.http.status = 200;
}
