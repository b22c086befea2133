import { readFileSync } from 'node:fs';
import type { RedisClient } from '../stores/redis.js';
import { encodeDocument, type TrustedDocument, type TrustedDocumentStore } from './store.js';

/** The script; its header gives the KEYS/ARGV layout of `put` and `remove`. */
const DOCUMENTS_LUA = readFileSync(new URL('./documents.lua', import.meta.url), 'utf8');
/** The ioredis custom command name (versioned so that a changed script never shares a name). */
const COMMAND = 'trustedDocumentsV1';

type DocumentsCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/**
 * Per tenant, two keys of one hash tag: `td:{tenant}` (sha256 -> JSON) and `td:size:{tenant}`
 * (count and bytes of the first). Reads are plain HGET/HGETALL; a registration or removal is one
 * script call, which checks the caps and updates both keys atomically.
 */
export function createRedisTrustedDocumentStore(redis: RedisClient): TrustedDocumentStore {
  // defineCommand: EVALSHA, with ioredis resending as EVAL on NOSCRIPT (SCRIPT FLUSH, restart).
  redis.defineCommand(COMMAND, { lua: DOCUMENTS_LUA });
  const script = (redis as unknown as Record<string, DocumentsCommand | undefined>)[COMMAND];
  if (!script) throw new Error(`ioredis did not define ${COMMAND}`);
  const call = script.bind(redis);
  const key = (tenantId: string) => `td:{${tenantId}}`;
  const sizeKey = (tenantId: string) => `td:size:{${tenantId}}`;
  return {
    async get(tenantId, sha256) {
      const json = await redis.hget(key(tenantId), sha256);
      return json ? (JSON.parse(json) as TrustedDocument) : null;
    },
    async list(tenantId) {
      return Object.values(await redis.hgetall(key(tenantId))).map((json) => JSON.parse(json) as TrustedDocument);
    },
    async put(tenantId, documents, caps) {
      const pairs = documents.flatMap((d) => [d.sha256, encodeDocument(d)]);
      const reply = await call(2, key(tenantId), sizeKey(tenantId), 'put', String(caps.maxDocuments), String(caps.maxBytes), ...pairs);
      if (!Array.isArray(reply) || reply.length !== 5 || !reply.every((n) => typeof n === 'number')) {
        throw new Error(`trusted documents script returned an unexpected reply: ${JSON.stringify(reply)}`);
      }
      const [stored, count, bytes, countAfter, bytesAfter] = reply as [number, number, number, number, number];
      return { stored: stored === 1, before: { count, bytes }, after: { count: countAfter, bytes: bytesAfter } };
    },
    async remove(tenantId, sha256s) {
      if (sha256s.length === 0) return 0;
      const removed = await call(2, key(tenantId), sizeKey(tenantId), 'remove', ...sha256s);
      if (typeof removed !== 'number') throw new Error(`trusted documents script returned an unexpected reply: ${JSON.stringify(removed)}`);
      return removed;
    },
  };
}
