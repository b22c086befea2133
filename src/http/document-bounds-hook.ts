import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { measureDocument, type DocumentBounds, type DocumentFacts } from '../graph/document-bounds.js';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import type { RefuseAtDoor } from './counted-refusal.js';
import type { DoorStep } from './door-steps.js';

/** Query texts already measured and found within bounds, by characters (keys), default 4 Mi. */
const MAX_REMEMBERED_CHARS = 4 * 1024 * 1024;

/**
 * `preHandler` of /graphql: refuses a document past `server.documentLimits` (400
 * DOCUMENT_TOO_COMPLEX) before Apollo parses and validates it, because validation's cost grows
 * faster than the document (a 0.9 MB document that failed validation held the event loop for
 * 1.1 s). Texts within bounds are remembered, so a repeated operation costs one lookup. A request
 * without a query text (a trusted document id, an APQ hash) names a text that was measured when
 * it was registered.
 * The refused request still counts against the caller's limits (`refuse`).
 */
export function documentBoundsHook(deps: { bounds: () => DocumentBounds; refuse: RefuseAtDoor }): DocumentBoundsHook {
  const withinBounds = new LRUCache<string, { facts: DocumentFacts }>({ maxSize: MAX_REMEMBERED_CHARS, sizeCalculation: (_value, key) => key.length + 1 });
  let boundsInForce = deps.bounds();
  // Synchronous (a door step): a promise per request for a lookup was a visible share of its cost.
  const hook = (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryOf(request);
    if (query === null) return;
    const bounds = deps.bounds();
    if (bounds !== boundsInForce) {
      // A reload changed the bounds: what was within the old ones is measured again.
      withinBounds.clear();
      boundsInForce = bounds;
    }
    if (withinBounds.has(query)) return;
    const measured = measureDocument(query, bounds);
    const { violation } = measured;
    if (!violation) {
      withinBounds.set(query, { facts: measured.facts });
      return;
    }
    return deps.refuse(request, reply, 'DOCUMENT_TOO_COMPLEX', violation.message, { bound: violation.bound, limit: violation.limit, found: violation.found });
  };
  const rootFieldsOfText = (query: string, operationName: unknown): readonly string[] | null => {
    const facts = withinBounds.get(query)?.facts;
    if (!facts) return null;
    const name = typeof operationName === 'string' ? operationName : '';
    return facts.get(name) ?? (name === '' && facts.size === 1 ? [...facts.values()][0]! : null);
  };
  return {
    hook,
    rootFieldsOfText,
    knownRootFields(request) {
      const query = queryOf(request);
      if (query === null) return null;
      const params = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown };
      return rootFieldsOfText(query, params.operationName);
    },
  };
}

export interface DocumentBoundsHook {
  /** The `preHandler` step. */
  hook: DoorStep;
  /** The root fields of a request whose text was measured before (to meter a request refused before parsing); null when unknown. */
  knownRootFields(request: FastifyRequest): readonly string[] | null;
  /** `knownRootFields` for a query text and operation name read without Fastify (the front door). */
  rootFieldsOfText(query: string, operationName: unknown): readonly string[] | null;
}

/** The query text of a GraphQL-over-HTTP request (POST body or GET query string), null when there is none. */
export function queryOf(request: FastifyRequest): string | null {
  const source = request.method === 'GET' ? request.query : request.body;
  if (!isPlainObject(source)) return null;
  const query = source.query;
  return typeof query === 'string' ? query : null;
}
