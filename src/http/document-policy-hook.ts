import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasTenant, type TenantPrincipal } from '../auth/principal.js';
import { StoreUnavailableError, storeCall } from '../errors/store-unavailable.js';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import { parseDocumentId, type TrustedDocuments } from '../trusted-documents/registry.js';
import type { TrustedDocument } from '../trusted-documents/store.js';
import type { RefuseAtDoor } from './counted-refusal.js';
import type { DoorStep } from './door-steps.js';
import { sendError } from './error-body.js';

/** The GraphQL-over-HTTP parameters, from the JSON body (POST) or the query string (GET, `extensions` as JSON text). */
interface Params {
  query?: unknown;
  operationName?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The trusted document this request ran, when it named one. */
    trustedDocument?: TrustedDocument;
  }
}

/**
 * `preHandler` of /graphql, after the body is parsed and before Apollo sees it:
 *
 * - A request naming a registered document (`documentId: "sha256:<hex>"`, or Apollo's
 *   `extensions.persistedQuery.sha256Hash`) runs that document's text: the id is replaced by the
 *   query, so Apollo (and its APQ cache) sees an ordinary request. An id the tenant has not
 *   registered is refused (400 TRUSTED_DOCUMENT_NOT_FOUND) when sent as `documentId` or by a key
 *   bound to trusted documents; a persistedQuery hash is otherwise left to Apollo's APQ.
 * - A publishable key with `trustedDocumentsOnly` may send nothing else (403 TRUSTED_DOCUMENT_REQUIRED).
 *
 * A publishable key's `rootFields` are checked on the operation Apollo resolves, wherever its text
 * came from (auth/publishable-policy.ts, first step of the operation gate in http/pipeline.ts). A request refused here still
 * counts against the caller's request limits (`refuse`).
 */
export function documentPolicyHook(deps: { documents: TrustedDocuments; refuse: RefuseAtDoor }): DoorStep {
  // Synchronous for a request that names no document and is not bound to them (the common
  // case): a door step, no promise per request.
  return (request: FastifyRequest, reply: FastifyReply) => {
    const principal = request.principal;
    if (!principal || !hasTenant(principal)) return;
    const rules = principal.kind === 'apiKey' ? principal.publishable : undefined;
    const params = paramsOf(request);
    if (!params) return; // Apollo answers the malformed request

    const named = typeof params.documentId === 'string' ? params.documentId : null;
    const persisted = persistedHashOf(params.extensions);
    if (named !== null || persisted !== null) return runNamedDocument(request, reply, principal, params, named, persisted);
    if (rules?.trustedDocumentsOnly) {
      return deps.refuse(
        request,
        reply,
        'TRUSTED_DOCUMENT_REQUIRED',
        `Publishable key "${principal.clientId}" runs only registered trusted documents: send "documentId": "sha256:<hex>" instead of a query.`,
      );
    }
  };

  /** A request naming a document: its text in place of the id, or the refusal. */
  async function runNamedDocument(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: TenantPrincipal,
    params: Params,
    named: string | null,
    persisted: string | null,
  ) {
    const rules = principal.kind === 'apiKey' ? principal.publishable : undefined;
    let document: TrustedDocument | null = null;
    const id = named ?? persisted!;
    const hex = parseDocumentId(id);
    try {
      document = hex
        ? await storeCall(
            'trusted-documents',
            'Trusted documents cannot be read: their store cannot be reached.',
            deps.documents.resolve(principal.tenantId, hex),
          )
        : null;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      reply.header('retry-after', String(error.extensions.retryAfterSeconds));
      return sendError(reply, 'STORE_UNAVAILABLE', error.message, { store: 'trusted-documents' });
    }
    if (!document && (named !== null || rules?.trustedDocumentsOnly)) {
      return deps.refuse(
        request,
        reply,
        'TRUSTED_DOCUMENT_NOT_FOUND',
        `No trusted document ${id} is registered for tenant "${principal.tenantId}": register it with registerTrustedDocuments (npm run documents).`,
        {
          documentId: id,
        },
      );
    }
    if (document) useDocument(request, params, document);
  }
}

function paramsOf(request: FastifyRequest): Params | null {
  const source = request.method === 'GET' ? request.query : request.body;
  return isPlainObject(source) ? (source as Params) : null;
}

function persistedHashOf(extensions: unknown): string | null {
  let value = extensions;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  const hash = (value as { persistedQuery?: { sha256Hash?: unknown } } | null)?.persistedQuery?.sha256Hash;
  return typeof hash === 'string' ? hash : null;
}

/** Replaces the id by the document's text, and drops the APQ extension so Apollo does not cache it again. */
function useDocument(request: FastifyRequest, params: Params, document: TrustedDocument): void {
  request.trustedDocument = document;
  params.query = document.body;
  delete params.documentId;
  if (typeof params.extensions === 'string') {
    const parsed = JSON.parse(params.extensions) as Record<string, unknown>;
    delete parsed.persistedQuery;
    params.extensions = JSON.stringify(parsed);
  } else if (typeof params.extensions === 'object' && params.extensions !== null) {
    delete (params.extensions as Record<string, unknown>).persistedQuery;
  }
}
