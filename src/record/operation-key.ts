import { createHash } from 'node:crypto';
import type { DocumentNode } from 'graphql';

/**
 * An operation as a replay can price it again: its text, the operation name chosen in it, and the
 * variables it ran with (JSON). What `operationKey` names.
 */
export interface RecordedOperation {
  name: string | null;
  text: string;
  /** The variables as JSON, `{}` when none. */
  variables: string;
}

/** Characters of a key part: 11 base64url characters, 66 bits (a collision among a billion operations is about 1 in 100,000). */
const PART_CHARS = 11;

/**
 * The record's name of an operation: `<document>` for one run without variables,
 * `<document>.<variables>` otherwise; each part is the start of a SHA-256 in base64url. The
 * document part (operation name and text) is what most requests share, so the book stores each
 * text once per day however many variable sets run it.
 */
export function operationKeyOf(documentKey: string, variables: string): string {
  return variables === '{}' ? documentKey : `${documentKey}.${hashPart(variables)}`;
}

/** The document part of a key: the operation name and the text, hashed. */
export function documentKeyOf(name: string | null, text: string): string {
  return hashPart(`${name ?? ''}\u0000${text}`);
}

/** The document part of an operation key. */
export function documentPartOf(key: string): string {
  const dot = key.indexOf('.');
  return dot < 0 ? key : key.slice(0, dot);
}

function hashPart(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, PART_CHARS);
}

/**
 * Document keys by parsed document and operation name: Apollo hands the same DocumentNode to
 * every request of the same text (its document store), so a text is hashed once, not per request.
 */
export function createDocumentKeys() {
  const byDocument = new WeakMap<DocumentNode, Map<string, string>>();
  return (document: DocumentNode, name: string | null, text: string): string => {
    let byName = byDocument.get(document);
    if (!byName) {
      byName = new Map();
      byDocument.set(document, byName);
    }
    let key = byName.get(name ?? '');
    if (key === undefined) {
      key = documentKeyOf(name, text);
      byName.set(name ?? '', key);
    }
    return key;
  };
}
