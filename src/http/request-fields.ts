import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The fields the request path sets on a Fastify request (each declared beside the hook that sets
 * it), in the order they are set.
 */
const REQUEST_FIELDS = [
  'principal', // authenticate-hook.ts
  'trustedDocument', // document-policy-hook.ts
  'earlyLimitCheck', // pipeline.ts
  'heldAdmission', // admission-hook.ts
  'downstreamShare', // admission-hook.ts
  'gatewayState', // pipeline.ts, and the hooks that refuse at the door
  'responseBytes', // pipeline.ts
] as const satisfies readonly (keyof FastifyRequest)[];

/**
 * Declares them, unset, on every request (Fastify's request constructor sets its decorated
 * values): each request is then made with all of them, and every request shares one V8 shape
 * whichever hooks ran. Added one by one as hooks ran, requests took different shapes along
 * different paths (admission on or off, a trusted document or not), and every read of a request
 * field, Fastify's own included, grew slower with each shape.
 */
export function declareRequestFields(app: FastifyInstance): void {
  for (const field of REQUEST_FIELDS) app.decorateRequest(field, undefined);
}
