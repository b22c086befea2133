import type { GraphQLSchema } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { sha256Hex } from '../config/hash.js';
import type { KeyScope } from './cache-scope.js';
import { canonicalJson } from './canonical.js';

/**
 * Bumped when the stored entry's format changes (the envelope in field-cache.ts), so instances of
 * two releases never read each other's entries.
 */
const ENTRY_FORMAT = 1;

/**
 * The cache version in every entry key: the first 12 hex digits of a SHA-256 over the printed
 * schema (types, arguments, directives with their TTLs) and `outputConfig`, what else changes what
 * a field resolves to: the downstream services it reads, a hash of the code that produces values
 * (code-version.ts) and `cache.version` from config. A new schema, backend, resolver or loader, or
 * an operator's bump, therefore starts from empty keys, and old entries age out by their TTL.
 */
export function schemaVersion(schema: GraphQLSchema, outputConfig: unknown): string {
  return sha256Hex(`${ENTRY_FORMAT}\n${printSchemaWithDirectives(schema)}\n${canonicalJson(outputConfig)}`).slice(0, 12);
}

/**
 * `cache:v{version}:{tenant}:{audience}:{Type.field}:{hash}`, e.g.
 * `cache:v3f9c0a1b2c4d:{globex}:*:Query.product:9b1d...`. The braces are a Redis Cluster hash tag:
 * a tenant's entries and tags share a slot, so one MGET reads them together. `hash` is a SHA-256
 * (hex) over the canonical arguments and, below the root, the parent object's identity.
 */
export function entryKey(version: string, scope: KeyScope, coordinate: string, args: Record<string, unknown>, parent: string | null): string {
  const hash = sha256Hex(canonicalJson({ args, parent }));
  return `cache:v${version}:{${scope.namespace}}:${scope.audience}:${coordinate}:${hash}`;
}

/**
 * `cache:tag:{tenant}:{tag}`: holds a random token that a mutation replaces. Not versioned, so a
 * mutation on an instance running another schema version still invalidates this one's entries.
 */
export function tagKey(namespace: string, tag: string): string {
  // Tags carry argument values (ids): a long one is hashed so keys stay short.
  const name = tag.length > MAX_TAG_CHARS ? `#${sha256Hex(tag)}` : tag;
  return `cache:tag:{${namespace}}:${name}`;
}

/** Longest tag kept readable in its key, 128 characters. */
const MAX_TAG_CHARS = 128;
