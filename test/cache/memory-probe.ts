/**
 * Run by memory-bound.test.ts in a process of its own (`node --expose-gc --import tsx`): fills the
 * in-process cache store through keyv, as the field cache does, and prints what the heap holds.
 * argv: maxBytes, bytes of entries to offer (a multiple of maxBytes: eviction happens), ttl ms,
 * sweep interval ms, mix (`mixed`: stock levels, products and pages of products, a quarter with
 * non-Latin-1 text; `small`: stock levels only; `large`: pages of products only).
 */
import { createCacheStore } from '../../src/cache/cache-store.js';
import { entryKey } from '../../src/cache/cache-keys.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRandom } from '../../src/sample-services/prng.js';

const [maxBytes, offered, ttlMs, purgeMs] = process.argv.slice(2, 6).map(Number) as [number, number, number, number];
const mix = process.argv[6] ?? 'mixed';
const gc = (globalThis as { gc?: () => void }).gc!;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const random = createRandom(9);
const words = ['Bold', 'Wool', 'Sleeping', 'Bag', 'Cork', 'Planter', 'Deluxe', 'Lamp', 'Kettle', 'Chair'];
const wide = ['名前', 'Ünïcödé', '🚀 rocket', 'σφαίρα', 'кружка'];
const text = (n: number, unicode: boolean) =>
  Array.from({ length: n }, () => (unicode && random.next() < 0.3 ? random.pick(wide) : random.pick(words))).join(' ');
const product = (i: number, unicode: boolean) => ({
  id: `prd_${i}`,
  name: text(3, unicode),
  description: text(random.int(5, 40), unicode),
  priceCents: random.int(100, 99_999),
  currency: 'USD',
  category: random.pick(words),
  tags: Array.from({ length: random.int(0, 5) }, () => random.pick(words)),
});
/** Field-cache-shaped values: a stock level (small), a product, a page of products (large). */
function value(i: number): unknown {
  const unicode = i % 4 === 0;
  const kind = mix === 'small' ? 0 : mix === 'large' ? 9 : i % 10;
  const v =
    kind < 4
      ? { productId: `prd_${i}`, available: random.int(0, 500), reserved: random.int(0, 50), warehouse: 'ams-1', updatedAt: new Date(1e12 + i).toISOString() }
      : kind < 9
        ? product(i, unicode)
        : Array.from({ length: random.int(2, 20) }, (_, j) => product(i * 100 + j, unicode));
  return { v, t: random.next().toString(36).slice(2, 14), f: 1e12 + i };
}

const logger = createLogger({ level: 'silent' });
const config = { ...configSchema.parse({ plans: {}, tenants: {} }).cache, memoryMaxBytes: maxBytes };
const before = heap();
const store = createCacheStore({ redisUrl: undefined, config, logger, purgeIntervalMs: purgeMs });
let offeredBytes = 0;
let i = 0;
while (offeredBytes < offered) {
  const key = entryKey(
    '3f9c0a1b2c4d',
    { namespace: `tenant-${i % 7}`, audience: '*' },
    i % 3 ? 'Query.product' : 'Product.inventory',
    { id: `prd_${i}` },
    i % 3 ? null : `Product:prd_${i}`,
  );
  const envelope = value(i);
  offeredBytes += key.length + JSON.stringify(envelope).length;
  await store.keyv.set(key, envelope, ttlMs);
  i++;
}
const filled = heap() - before;
const stats = store.stats!();
await new Promise((resolve) => setTimeout(resolve, purgeMs > 0 && ttlMs < 10_000 ? ttlMs + 3 * purgeMs : 0));
const afterExpiry = heap() - before;
const statsAfter = store.stats!();
await store.close();
process.stdout.write(
  JSON.stringify({ maxBytes, offered: i, filled, counted: stats.bytes, entries: stats.entries, afterExpiry, entriesAfterExpiry: statsAfter.entries }),
);
