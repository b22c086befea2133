import { exceededBound, type DocumentBounds } from '../graph/document-bounds.js';
import { type GraphQLError, Kind, parse, validate, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import { sha256Hex } from '../config/hash.js';
import type { CostAnalyzer } from '../cost/analyzer.js';
import { GatewayError } from '../errors/gateway-error.js';
import { rootFieldsOf } from '../limits/root-fields.js';
import type { TenantDocumentCaps } from './caps.js';
import { quotaExceeded } from './quota-error.js';
import { storedBytes, type TrustedDocument, type TrustedDocumentStore, type TrustedOperation } from './store.js';

/** What an admin registers: the document's text, optionally its id (checked) and example variables to price it with. */
export interface TrustedDocumentInput {
  id?: string | null;
  name?: string | null;
  body: string;
  variables?: Record<string, unknown> | null;
}

/** Most documents one registration may carry, 1000: an app's whole manifest, bounded. */
export const MAX_DOCUMENTS_PER_REGISTRATION = 1000;

/**
 * How long a resolved document is kept in process, 30 s: a document's text never changes (its id
 * is its hash), so this only bounds how long a removed document may still run on an instance.
 */
const RESOLVED_TTL_MS = 30_000;

/** `sha256:<hex>` (the persisted-documents convention) or a bare hex SHA-256 -> the hex; null otherwise. */
export function parseDocumentId(id: string): string | null {
  const hex = id.startsWith('sha256:') ? id.slice(7) : id;
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/** Documents kept resolved in process, in characters of text (about 32 MiB). */
const RESOLVED_MAX_CHARS = 32 * 1024 * 1024;

/**
 * Trusted documents (persisted operations registered ahead of time): registration validates each
 * document against the schema, prices it with the cost analyzer so the developer sees its cost
 * before shipping, and records the root fields of each operation (what a publishable key's
 * `rootFields` are checked against); `resolve` finds one by id on the request path, cached.
 * `caps` gives a tenant's caps (read per registration, so a config reload applies): a document
 * above `maxDocumentBytes` is invalid input, a registration past the tenant's caps is refused
 * whole by the store.
 */
export function createTrustedDocuments(deps: {
  store: TrustedDocumentStore;
  schema: GraphQLSchema;
  analyzer: CostAnalyzer;
  caps: (tenantId: string) => TenantDocumentCaps;
  /** The document bounds requests are held to (server.documentLimits): a registered document runs without passing the door's check. */
  bounds: () => DocumentBounds;
}) {
  const { store, schema, analyzer } = deps;
  // Bounded by bytes too: 10,000 documents of 64 KiB would be 640 MB.
  const resolved = new LRUCache<string, TrustedDocument>({
    max: 10_000,
    maxSize: RESOLVED_MAX_CHARS,
    sizeCalculation: (document) => document.body.length + 256,
    ttl: RESOLVED_TTL_MS,
  });

  /** Checks and prices every input; throws BAD_USER_INPUT naming each bad document, registering none. */
  function prepare(inputs: TrustedDocumentInput[], registeredBy: string, now: number, caps: TenantDocumentCaps): TrustedDocument[] {
    if (inputs.length > MAX_DOCUMENTS_PER_REGISTRATION) {
      throw new GatewayError('BAD_USER_INPUT', `At most ${MAX_DOCUMENTS_PER_REGISTRATION} documents per registration: ${inputs.length}`);
    }
    const problems: string[] = [];
    const documents: TrustedDocument[] = [];
    inputs.forEach((input, i) => {
      const where = `documents[${i}]${input.name ? ` (${input.name})` : ''}`;
      const tooLarge = (bytes: number, what: string) =>
        `${where}: ${bytes} bytes (${what}), above the ${caps.maxDocumentBytes} one document may take (${caps.keys.maxDocumentBytes})`;
      // Its text alone too large: refused before parsing it. The stored size is checked below.
      const bodyBytes = Buffer.byteLength(input.body, 'utf8');
      if (bodyBytes > caps.maxDocumentBytes) {
        problems.push(tooLarge(bodyBytes, 'its text alone'));
        return;
      }
      const sha256 = sha256Hex(input.body);
      if (input.id != null && parseDocumentId(input.id) !== sha256) {
        problems.push(`${where}: id ${input.id} is not the SHA-256 of its body (sha256:${sha256})`);
        return;
      }
      const violation = exceededBound(input.body, deps.bounds());
      if (violation) {
        problems.push(`${where}: ${violation.message}`);
        return;
      }
      let document: DocumentNode;
      try {
        document = parse(input.body);
      } catch (error) {
        problems.push(`${where}: ${(error as GraphQLError).message}`);
        return;
      }
      const errors = validate(schema, document);
      if (errors.length > 0) {
        problems.push(...errors.map((e) => `${where}: ${e.message}`));
        return;
      }
      const operations = operationsOf(document);
      const variables = input.variables ?? {};
      const prepared: TrustedDocument = {
        sha256,
        name: input.name ?? operations.find((o) => o.name)?.name ?? null,
        body: input.body,
        operations,
        cost: priceOf(document, operations, variables),
        pricedWith: variables,
        registeredAt: now,
        registeredBy,
      };
      const bytes = storedBytes(prepared);
      if (bytes > caps.maxDocumentBytes) {
        problems.push(tooLarge(bytes, 'as stored: its text, name, example variables and operations'));
        return;
      }
      documents.push(prepared);
    });
    if (problems.length > 0) {
      throw new GatewayError('BAD_USER_INPUT', `No document was registered: ${problems.join('; ')}`, { extensions: { problems } });
    }
    return documents;
  }

  function operationsOf(document: DocumentNode): TrustedOperation[] {
    const fragments = Object.fromEntries(
      document.definitions.flatMap((d): [string, FragmentDefinitionNode][] => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])),
    );
    return document.definitions.flatMap((d) =>
      d.kind === Kind.OPERATION_DEFINITION
        ? [{ name: d.name?.value ?? null, type: d.operation, rootFields: [...new Set(rootFieldsOf(schema, d, fragments))] }]
        : [],
    );
  }

  /** The most expensive operation of the document; null when a required variable was not given. */
  function priceOf(document: DocumentNode, operations: TrustedOperation[], variables: Record<string, unknown>): TrustedDocument['cost'] {
    let cost: TrustedDocument['cost'] = { fieldCost: 0, typeCost: 0 };
    for (const operation of operations) {
      try {
        const estimate = analyzer.estimate(document, operation.name ?? undefined, variables);
        cost = { fieldCost: Math.max(cost.fieldCost, estimate.fieldCost), typeCost: Math.max(cost.typeCost, estimate.typeCost) };
      } catch {
        return null;
      }
    }
    return cost;
  }

  return {
    async register(tenantId: string, registeredBy: string, inputs: TrustedDocumentInput[], now = Date.now()): Promise<TrustedDocument[]> {
      const caps = deps.caps(tenantId);
      const documents = prepare(inputs, registeredBy, now, caps);
      const outcome = await store.put(tenantId, documents, caps);
      if (!outcome.stored) throw quotaExceeded(tenantId, outcome, caps);
      return documents;
    },
    list: (tenantId: string) => store.list(tenantId),
    async remove(tenantId: string, ids: string[]): Promise<number> {
      const hexes = ids.map((id) => parseDocumentId(id)).filter((h): h is string => h !== null);
      for (const hex of hexes) resolved.delete(`${tenantId}:${hex}`);
      return store.remove(tenantId, hexes);
    },
    /** The tenant's document with this id, or null. */
    async resolve(tenantId: string, sha256: string): Promise<TrustedDocument | null> {
      const key = `${tenantId}:${sha256}`;
      const cached = resolved.get(key);
      if (cached) return cached;
      const found = await store.get(tenantId, sha256);
      if (found) resolved.set(key, found);
      return found;
    },
  };
}

export type TrustedDocuments = ReturnType<typeof createTrustedDocuments>;
