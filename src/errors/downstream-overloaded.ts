import type { GraphQLResponse } from '@apollo/server';
import { hasContent } from './store-unavailable.js';

/**
 * Sets `Retry-After` on any GraphQL response carrying a DOWNSTREAM_OVERLOADED error (the longest
 * `retryAfterSeconds` among them, or a longer one already set), and answers 503 when nothing
 * else could be served, as STORE_UNAVAILABLE does (store-unavailable.ts): a partial answer, with
 * the fields of other services, stays 200, as GraphQL over HTTP has it. The other downstream
 * errors keep 200: the service failed, and retrying soon is not advice the gateway can give.
 * A step of the request path's `willSendResponse` (http/pipeline.ts).
 */
export function downstreamOverloadedStatus(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const { errors, data } = response.body.singleResult;
  const overloaded = errors?.filter((e) => e.extensions?.code === 'DOWNSTREAM_OVERLOADED') ?? [];
  if (overloaded.length === 0) return;
  const seconds = Math.max(Number(response.http.headers.get('retry-after')) || 0, ...overloaded.map((e) => Number(e.extensions?.retryAfterSeconds) || 1));
  response.http.headers.set('retry-after', String(seconds));
  if (!hasContent(data)) response.http.status = 503;
}
