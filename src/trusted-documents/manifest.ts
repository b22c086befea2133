import { isPlainObject } from '../jsutils/is-plain-object.js';
import type { TrustedDocumentInput } from './registry.js';

/**
 * Reads the persisted-documents file an app's build writes, in the formats the common tools emit:
 *
 * - Apollo's `persisted-query-manifest.json`: `{ "format": "apollo-persisted-query-manifest",
 *   "operations": [{ "id", "name", "body" }] }` (@apollo/generate-persisted-query-manifest);
 * - GraphQL Codegen's client preset `persisted-documents.json`: `{ "<sha256>": "<document>" }`;
 * - a plain array of `{ "body" | "query", "id"?, "name"? }`.
 */
export function readManifest(json: unknown): TrustedDocumentInput[] {
  if (Array.isArray(json)) return json.map((entry, i) => entryOf(entry, `[${i}]`));
  if (isPlainObject(json)) {
    if (json.format === 'apollo-persisted-query-manifest') {
      if (!Array.isArray(json.operations)) throw new Error('an Apollo manifest needs an "operations" array');
      return json.operations.map((entry, i) => entryOf(entry, `operations[${i}]`));
    }
    return Object.entries(json).map(([id, body]) => {
      if (typeof body !== 'string') throw new Error(`"${id}": expected the document's text`);
      return { id, body };
    });
  }
  throw new Error('expected an Apollo persisted-query manifest, a { hash: document } map, or an array of documents');
}

function entryOf(entry: unknown, where: string): TrustedDocumentInput {
  const e = (entry ?? {}) as Record<string, unknown>;
  const body = typeof e.body === 'string' ? e.body : typeof e.query === 'string' ? e.query : null;
  if (body === null) throw new Error(`${where}: expected "body" (or "query") with the document's text`);
  return { body, id: typeof e.id === 'string' ? e.id : null, name: typeof e.name === 'string' ? e.name : null };
}
