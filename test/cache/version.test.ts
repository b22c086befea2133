import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeVersion, VALUE_CODE_DIRS } from '../../src/cache/code-version.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** Issue 9, defect 5: a deploy that changes the code producing values, or an operator's bump, starts from empty keys. */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

describe('the code version', () => {
  it('changes when a resolver changes, and only then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'code-version-'));
    try {
      for (const sub of VALUE_CODE_DIRS) await cp(join(SRC, sub), join(dir, sub), { recursive: true });
      const before = codeVersion(VALUE_CODE_DIRS, dir);
      expect(codeVersion(VALUE_CODE_DIRS, dir)).toBe(before);
      expect(before).toBe(codeVersion(VALUE_CODE_DIRS)); // the copy is the running code
      const file = join(dir, 'resolvers', 'catalog.ts');
      await writeFile(file, (await readFile(file, 'utf8')).replace("pageSize(first, 20, 100, 'first')", "pageSize(first, 10, 100, 'first')"));
      expect(codeVersion(VALUE_CODE_DIRS, dir)).toMatch(/^[0-9a-f]{12}$/);
      expect(codeVersion(VALUE_CODE_DIRS, dir)).not.toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cache.version in config', () => {
  let redisServer: TestRedis;
  let inspect: Redis;
  let gateways: TestGateway[] = [];
  const start = (version?: string) =>
    startTestGateway({
      env: { REDIS_URL: redisServer.url },
      patch: (config) => {
        config.cache = { timeoutMs: 1000, ...(version === undefined ? {} : { version }) };
      },
    });

  beforeAll(async () => {
    redisServer = await startTestRedis();
    inspect = new Redis(redisServer.url);
    gateways = await Promise.all([start(), start(), start('2025-06-01')]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await inspect.quit();
    await redisServer.stop();
  });

  it('the same code and config share entries; a bumped version starts from empty keys', async () => {
    const [one, same, bumped] = gateways as [TestGateway, TestGateway, TestGateway];
    const query = '{ product(id: "prd_1") { name } }';
    const status = async (g: TestGateway) => (await g.gql(DEMO_TOKENS.globexAdmin, query)).body.extensions?.cache?.fields.product;
    expect(await status(one)).toBe('MISS');
    expect(await status(same)).toBe('HIT');
    expect(await status(bumped)).toBe('MISS');
    const versions = new Set((await inspect.keys('cache:v*')).map((key) => key.split(':')[1]));
    expect(versions.size).toBe(2);
  });
});
