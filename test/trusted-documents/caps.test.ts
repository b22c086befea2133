import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { TenantDocumentCaps } from '../../src/trusted-documents/caps.js';
import { createMemoryTrustedDocumentStore } from '../../src/trusted-documents/memory-store.js';
import { createRedisTrustedDocumentStore } from '../../src/trusted-documents/redis-store.js';
import { createTrustedDocuments, type TrustedDocumentInput, type TrustedDocuments } from '../../src/trusted-documents/registry.js';
import { storedBytes, type TrustedDocumentStore } from '../../src/trusted-documents/store.js';
import { analyzerOf, schemaOf } from '../cost/support.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * The per-tenant caps of the trusted-document store, in memory and on a real Redis: a
 * registration past a cap is refused whole with TRUSTED_DOCUMENTS_QUOTA_EXCEEDED, what a tenant
 * holds is counted exactly (a document registered again counts once, a removed one is
 * subtracted), and one tenant's holdings never affect another's.
 */
const SDL = 'type Query { a: String b: String }';
const BY = 'acme-web';
const NOW = Date.UTC(2026, 0, 1);

/** `query Q007 { a }`: every document of the same size, so caps can be stated in documents. */
const doc = (n: number): TrustedDocumentInput => ({ body: `query Q${String(n).padStart(3, '0')} { a }` });
const docs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => doc(from + i));

let redisServer: TestRedis;
const clients: Redis[] = [];
beforeAll(async () => {
  redisServer = await startTestRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redisServer?.stop();
});

const newClient = () => {
  const client = new Redis(redisServer.url);
  clients.push(client);
  return client;
};

/** The default document bounds (server.documentLimits); these documents are far within them. */
const BOUNDS = { maxTokens: 5000, maxDepth: 20, maxAliases: 30, maxDirectives: 50, maxSameResponseKey: 5 };

/** Caps the tests change; keys as the config names them. */
const caps: TenantDocumentCaps = {
  maxDocuments: 3,
  maxBytes: 1_000_000,
  maxDocumentBytes: 65_536,
  keys: { maxDocuments: 'trustedDocuments.maxDocuments', maxBytes: 'trustedDocuments.maxBytes', maxDocumentBytes: 'trustedDocuments.maxDocumentBytes' },
};

const registryOn = (store: TrustedDocumentStore) =>
  createTrustedDocuments({ store, schema: schemaOf(SDL), analyzer: analyzerOf(SDL), caps: () => caps, bounds: () => BOUNDS });

/** What one `doc(n)` takes as stored. */
let size: number;

/** The error `work` rejects with (it must reject). */
async function refusal(work: Promise<unknown>): Promise<GatewayError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

const names = async (registry: TrustedDocuments, tenant: string) => (await registry.list(tenant)).map((d) => d.name).sort();

describe.each([
  ['in memory', () => createMemoryTrustedDocumentStore()],
  ['in Redis', () => createRedisTrustedDocumentStore(newClient())],
])('trusted-document caps %s', (_kind, makeStore) => {
  let registry: TrustedDocuments;
  let tenant: string;
  let tenants = 0;
  beforeEach(async () => {
    registry = registryOn(makeStore());
    // A fresh tenant per test: the Redis server is shared by the file.
    tenant = `t${++tenants}-${_kind === 'in Redis' ? 'r' : 'm'}`;
    Object.assign(caps, { maxDocuments: 3, maxBytes: 1_000_000, maxDocumentBytes: 65_536 });
    const [measured] = await registry.register('measure', BY, [doc(0)], NOW);
    size = storedBytes(measured!);
  });

  it('refuses a registration past the document cap whole, naming the cap, what the tenant holds and the way out', async () => {
    await registry.register(tenant, BY, docs(1, 2), NOW);
    const error = await refusal(registry.register(tenant, BY, docs(3, 4), NOW));
    expect(error.message).toBe(
      `No document was registered: tenant "${tenant}" holds 2 trusted documents taking ${2 * size} bytes, and this registration would make it 4 documents, above its cap of 3. ` +
        'Remove documents the app no longer sends (removeTrustedDocuments), or ask the gateway operator to raise trustedDocuments.maxDocuments.',
    );
    expect(error.extensions).toEqual({
      code: 'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED',
      count: 2,
      bytes: 2 * size,
      maxDocuments: 3,
      maxBytes: 1_000_000,
      countAfter: 4,
      bytesAfter: 4 * size,
    });
    // Q003 would have fitted alone: nothing of the batch is stored.
    expect(await names(registry, tenant)).toEqual(['Q001', 'Q002']);
    await registry.register(tenant, BY, [doc(3)], NOW);
    expect(await names(registry, tenant)).toEqual(['Q001', 'Q002', 'Q003']);
  });

  it('refuses a registration past the byte cap, counting each document as stored', async () => {
    Object.assign(caps, { maxDocuments: 100, maxBytes: 3 * size + 10 });
    await registry.register(tenant, BY, docs(1, 3), NOW);
    const error = await refusal(registry.register(tenant, BY, [doc(4)], NOW));
    expect(error.message).toBe(
      `No document was registered: tenant "${tenant}" holds 3 trusted documents taking ${3 * size} bytes, and this registration would make it ${4 * size} bytes, above its cap of ${3 * size + 10}. ` +
        'Remove documents the app no longer sends (removeTrustedDocuments), or ask the gateway operator to raise trustedDocuments.maxBytes.',
    );
    expect(error.extensions).toMatchObject({ code: 'TRUSTED_DOCUMENTS_QUOTA_EXCEEDED', count: 3, bytes: 3 * size, bytesAfter: 4 * size });
    expect(await names(registry, tenant)).toEqual(['Q001', 'Q002', 'Q003']);
  });

  it('counts a document registered again once, also when a batch repeats it', async () => {
    await registry.register(tenant, BY, [doc(1), doc(1), doc(2)], NOW);
    // The whole manifest again, as a deploy does, plus one new: 3 documents, at the cap.
    await registry.register(tenant, BY, [doc(1), doc(2), doc(3), doc(3)], NOW);
    await registry.register(tenant, BY, docs(1, 3), NOW);
    expect(await names(registry, tenant)).toEqual(['Q001', 'Q002', 'Q003']);
    const error = await refusal(registry.register(tenant, BY, [doc(1), doc(4)], NOW));
    expect(error.extensions).toMatchObject({ count: 3, bytes: 3 * size, countAfter: 4, bytesAfter: 4 * size });
  });

  it('a removed document frees its room, and its bytes', async () => {
    await registry.register(tenant, BY, docs(1, 3), NOW);
    expect(await registry.remove(tenant, [`sha256:${(await registry.list(tenant))[0]!.sha256}`, `sha256:${'0'.repeat(64)}`])).toBe(1);
    await registry.register(tenant, BY, [doc(4)], NOW);
    const error = await refusal(registry.register(tenant, BY, [doc(5)], NOW));
    expect(error.extensions).toMatchObject({ count: 3, bytes: 3 * size });
  });

  it('one tenant at its cap does not affect another', async () => {
    await registry.register(tenant, BY, docs(1, 3), NOW);
    expect((await refusal(registry.register(tenant, BY, [doc(4)], NOW))).extensions.code).toBe('TRUSTED_DOCUMENTS_QUOTA_EXCEEDED');
    await registry.register(`${tenant}-other`, BY, docs(1, 3), NOW);
    expect(await names(registry, `${tenant}-other`)).toEqual(['Q001', 'Q002', 'Q003']);
  });

  it('below a lowered cap, a tenant may register its documents again but add none', async () => {
    await registry.register(tenant, BY, docs(1, 3), NOW);
    caps.maxDocuments = 2;
    await registry.register(tenant, 'acme-ci', docs(1, 3), NOW);
    expect((await registry.list(tenant)).map((d) => d.registeredBy)).toEqual(['acme-ci', 'acme-ci', 'acme-ci']);
    const error = await refusal(registry.register(tenant, BY, [doc(4)], NOW));
    expect(error.message).toContain('would make it 4 documents, above its cap of 2.');
  });

  it('refuses a document above the size one document may take as invalid input, naming it', async () => {
    const long = { body: `query Long { a b }`, name: 'long' };
    const [measured] = await registry.register('measure', BY, [long], NOW);
    const longSize = storedBytes(measured!);
    // `long` passes on its text alone, not as stored; `huge` on its text already.
    caps.maxDocumentBytes = size + 5;
    expect(long.body.length).toBeLessThan(caps.maxDocumentBytes);
    expect(longSize).toBeGreaterThan(caps.maxDocumentBytes);
    const huge = { body: `query Huge { a } # ${'x'.repeat(400)}` };
    const error = await refusal(registry.register(tenant, BY, [doc(1), long, huge], NOW));
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.problems).toEqual([
      `documents[1] (long): ${longSize} bytes (as stored: its text, name, example variables and operations), above the ${size + 5} one document may take (trustedDocuments.maxDocumentBytes)`,
      `documents[2]: ${huge.body.length} bytes (its text alone), above the ${size + 5} one document may take (trustedDocuments.maxDocumentBytes)`,
    ]);
    expect(await registry.list(tenant)).toEqual([]);
  });
});

describe('trusted-document caps in Redis, several instances', () => {
  it('concurrent registrations from two instances never pass the cap, and the size kept stays exact', async () => {
    const a = registryOn(createRedisTrustedDocumentStore(newClient()));
    const b = registryOn(createRedisTrustedDocumentStore(newClient()));
    Object.assign(caps, { maxDocuments: 25, maxBytes: 1_000_000, maxDocumentBytes: 65_536 });
    // 60 batches of 2 distinct documents, from both instances at once: at most 12 fit whole.
    const attempts = Array.from({ length: 60 }, (_, i) =>
      (i % 2 === 0 ? a : b).register('race', BY, [doc(2 * i), doc(2 * i + 1)], NOW).then(
        () => true,
        (e: GatewayError) => e.extensions.code,
      ),
    );
    const results = await Promise.all(attempts);
    expect(results.filter((r) => r === true)).toHaveLength(12);
    expect(results.filter((r) => r !== true)).toEqual(Array(48).fill('TRUSTED_DOCUMENTS_QUOTA_EXCEEDED'));
    const client = newClient();
    expect(await client.hlen('td:{race}')).toBe(24);
    const lengths = await Promise.all((await client.hkeys('td:{race}')).map((sha) => client.hstrlen('td:{race}', sha)));
    expect(await client.hgetall('td:size:{race}')).toEqual({ count: '24', bytes: String(lengths.reduce((x, y) => x + y, 0)) });
  });

  it('counts documents registered before their size was kept (an upgrade), and an older instance writing meanwhile', async () => {
    const client = newClient();
    const registry = registryOn(createRedisTrustedDocumentStore(client));
    Object.assign(caps, { maxDocuments: 4, maxBytes: 1_000_000, maxDocumentBytes: 65_536 });
    const [one, two] = await registry.register('measure-old', BY, docs(1, 2), NOW);
    // As the previous version wrote them: the documents' hash only.
    await client.hset('td:{old}', one!.sha256, JSON.stringify(one));
    await registry.register('old', BY, [doc(2)], NOW);
    expect(await client.hgetall('td:size:{old}')).toEqual({ count: '2', bytes: String(2 * size) });
    await client.hset('td:{old}', 'f'.repeat(64), JSON.stringify({ ...two, sha256: 'f'.repeat(64) }));
    const error = await refusal(registry.register('old', BY, docs(3, 4), NOW));
    expect(error.extensions).toMatchObject({ count: 3, bytes: 3 * size, countAfter: 5 });
  });
});
