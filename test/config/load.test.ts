import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';
import { capsOf } from '../../src/trusted-documents/caps.js';
import { configErrorOf, makeTempDir, validYaml } from './helpers.js';

describe('parseConfig', () => {
  it('fills in the defaults of a minimal valid file', () => {
    const config = parseConfig(validYaml(), 'gateway.yaml', {});
    expect(config.server).toEqual({
      port: 4000,
      host: '127.0.0.1',
      bodyLimitBytes: 1048576,
      shutdownGraceMs: 10000,
      trustProxy: false,
      documentLimits: { maxTokens: 5000, maxDepth: 20, maxAliases: 30, maxDirectives: 50, maxSameResponseKey: 5 },
    });
    expect(config.limits).toMatchObject({
      authFailuresPerIpPerMinute: 30,
      storeTimeoutMs: 50,
      documentationUrl: '/docs/limits',
      usageMaxOperationCost: 1000,
      localRefusalMaxMs: 2000,
    });
    expect(config.tenants.acme).toEqual({
      displayName: 'Acme Corp',
      plan: 'free',
      planFromDefault: false,
      timeZone: 'UTC',
      overrides: {},
      cors: { allowedOrigins: [] },
    });
    expect(config.publishableKeys).toEqual([]);
    expect(config.cors).toEqual({ preflightMaxAgeSeconds: 600 });
    expect(config.serviceTokens).toEqual([]);
    expect(config.downstream.orders.retry.maxAttempts).toBe(3);
    expect(config.trustedDocuments).toEqual({ maxDocuments: 1000, maxBytes: 5 * 1024 * 1024, maxDocumentBytes: 64 * 1024 });
  });

  it("takes a plan's own trusted-document caps, and reports a bad one with its path", () => {
    const yaml = validYaml().replace('    displayName: Pro\n', '    displayName: Pro\n    trustedDocuments:\n      maxBytes: 100000\n');
    const config = parseConfig(yaml, 'gateway.yaml', {});
    expect(config.plans.pro?.trustedDocuments).toEqual({ maxBytes: 100000 });
    expect(capsOf(config, 'pro')).toMatchObject({
      maxDocuments: 1000,
      maxBytes: 100000,
      keys: { maxDocuments: 'trustedDocuments.maxDocuments', maxBytes: 'plans.pro.trustedDocuments.maxBytes' },
    });
    expect(capsOf(config, 'free')).toMatchObject({ maxBytes: 5 * 1024 * 1024, keys: { maxBytes: 'trustedDocuments.maxBytes' } });
    const error = configErrorOf(() => parseConfig(yaml.replace('maxBytes: 100000', 'maxDocuments: 0'), 'gateway.yaml', {}));
    expect(error.issues).toEqual([{ path: 'plans.pro.trustedDocuments.maxDocuments', message: 'Too small: expected number to be >0' }]);
  });

  it('reports every problem at once, each with its path, prefixed by the file name', () => {
    const yaml = `
server:
  port: "4000"
plans:
  free:
    displayName: Free
    limits:
      requestsPerMinute: lots
tenants:
  acme:
    displayName: Acme
    plan: gold
apiKeys:
  - id: acme-web
    tenant: acme
    role: admin
    sha256: ${'b'.repeat(64)}
  - id: acme-app
    tenant: acme
    role: admin
    sha256: ${'c'.repeat(64)}
  - id: ghost
    tenant: nobody
    role: owner
    sha256: demo-acme-admin
colour: blue
`;
    const error = configErrorOf(() => parseConfig(yaml, 'gateway.yaml', {}));
    expect(error.issues).toEqual([
      { path: 'server.port', message: 'Invalid input: expected number, received string (got "4000")' },
      { path: 'plans.free.limits.requestsPerMinute', message: 'must be a whole number >= 0 or "unlimited"' },
      { path: 'apiKeys[2].role', message: 'Invalid option: expected one of "admin"|"support"|"viewer" (got "owner")' },
      { path: 'apiKeys[2].sha256', message: 'must be the lowercase hex SHA-256 of the token (64 characters)' },
      { path: 'colour', message: 'unknown field' },
      { path: 'tenants.acme.plan', message: 'unknown plan "gold"' },
      { path: 'apiKeys[2].tenant', message: 'unknown tenant "nobody"' },
    ]);
    expect(error.message.split('\n')).toEqual([
      'gateway.yaml: invalid configuration (7 problems):',
      '  - server.port: Invalid input: expected number, received string (got "4000")',
      '  - plans.free.limits.requestsPerMinute: must be a whole number >= 0 or "unlimited"',
      '  - apiKeys[2].role: Invalid option: expected one of "admin"|"support"|"viewer" (got "owner")',
      '  - apiKeys[2].sha256: must be the lowercase hex SHA-256 of the token (64 characters)',
      '  - colour: unknown field',
      '  - tenants.acme.plan: unknown plan "gold"',
      '  - apiKeys[2].tenant: unknown tenant "nobody"',
    ]);
  });

  it('reports a cross-reference problem even when the only other problem is structural', () => {
    // zod skips refinements after a structural failure unless told otherwise; both must show.
    const yaml = validYaml({ acmePlan: 'gold' }).replace('role: admin', 'role: owner');
    const error = configErrorOf(() => parseConfig(yaml, 'gateway.yaml', {}));
    expect(error.issues.map((issue) => issue.path)).toEqual(['apiKeys[0].role', 'tenants.acme.plan']);
  });

  it('reports a token or key id configured twice', () => {
    const yaml = `${validYaml()}serviceTokens:
  - id: acme-web
    tenant: acme
    sha256: ${'a'.repeat(64)}
`;
    const error = configErrorOf(() => parseConfig(yaml, 'gateway.yaml', {}));
    expect(error.issues).toEqual([
      { path: 'serviceTokens[0].sha256', message: 'the same token is configured twice' },
      { path: 'serviceTokens[0].id', message: 'duplicate key id "acme-web"' },
    ]);
  });

  it('never echoes the value of a sha256 field, which may be a pasted plain token', () => {
    const yaml = validYaml().replace(`sha256: ${'a'.repeat(64)}`, 'sha256: my-secret-token');
    const error = configErrorOf(() => parseConfig(yaml, 'gateway.yaml', {}));
    expect(error.issues.map((issue) => issue.path)).toEqual(['apiKeys[0].sha256']);
    expect(error.message).not.toContain('my-secret-token');
  });

  it('reports a YAML syntax error with its line and column', () => {
    const yaml = 'plans:\n  free: { displayName: Free\ntenants: {}\n';
    const error = configErrorOf(() => parseConfig(yaml, 'broken.yaml', {}));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe('line 3, column 1');
    expect(error.message).toMatch(/^broken\.yaml: invalid configuration \(1 problem\):\n {2}- line 3, column 1: Flow map/);
  });

  it('reports a bad PORT together with a YAML syntax error', () => {
    const error = configErrorOf(() => parseConfig('plans: [\n', 'broken.yaml', { PORT: 'http' }));
    expect(error.issues.map((issue) => issue.path)).toEqual([expect.stringMatching(/^line \d+, column \d+$/), 'PORT']);
  });

  it('reports a duplicated YAML key, which would otherwise silently drop one of them', () => {
    const yaml = `${validYaml()}plans: {}\n`;
    const error = configErrorOf(() => parseConfig(yaml, 'dup.yaml', {}));
    expect(error.issues).toEqual([{ path: 'line 17, column 1', message: 'Map keys must be unique' }]);
  });

  it('says an empty file is empty', () => {
    const error = configErrorOf(() => parseConfig('# nothing yet\n', 'empty.yaml', {}));
    expect(error.issues).toEqual([{ path: '(root)', message: 'the file is empty; expected a mapping with at least "plans" and "tenants"' }]);
  });

  it('lets PORT and REDIS_URL win over the file', () => {
    const yaml = `server:\n  port: 4000\nredis:\n  url: redis://file:6379\n${validYaml()}`;
    expect(parseConfig(yaml, 'gateway.yaml', {}).server.port).toBe(4000);
    const config = parseConfig(yaml, 'gateway.yaml', { PORT: '8080', REDIS_URL: 'redis://env:6380/2' });
    expect(config.server.port).toBe(8080);
    expect(config.redis.url).toBe('redis://env:6380/2');
    // Port 0 (any free port) is a valid choice; an empty variable counts as unset.
    expect(parseConfig(yaml, 'gateway.yaml', { PORT: '0', REDIS_URL: '' })).toMatchObject({
      server: { port: 0 },
      redis: { url: 'redis://file:6379' },
    });
  });

  it('takes a Redis Cluster from the file or from REDIS_CLUSTER_NODES, REDIS_USERNAME and REDIS_PASSWORD', () => {
    const yaml = `redis:\n  cluster:\n    nodes: ["10.0.0.5:6379", "redis-b.internal:6380", "[::1]:7000"]\n    tls: true\n    natMap: { "10.0.0.5:6379": "127.0.0.1:7005" }\n${validYaml()}`;
    expect(parseConfig(yaml, 'gateway.yaml', {}).redis).toEqual({
      cluster: { nodes: ['10.0.0.5:6379', 'redis-b.internal:6380', '[::1]:7000'], tls: true, natMap: { '10.0.0.5:6379': '127.0.0.1:7005' } },
    });
    // The variables replace the file's nodes (keeping its other options) or its url.
    const fromEnv = parseConfig(yaml, 'gateway.yaml', {
      REDIS_CLUSTER_NODES: ' 127.0.0.1:7000, 127.0.0.1:7001 ',
      REDIS_USERNAME: 'gateway',
      REDIS_PASSWORD: 's3cret',
    });
    expect(fromEnv.redis).toEqual({
      cluster: {
        nodes: ['127.0.0.1:7000', '127.0.0.1:7001'],
        tls: true,
        natMap: { '10.0.0.5:6379': '127.0.0.1:7005' },
        username: 'gateway',
        password: 's3cret',
      },
    });
    const urlFile = `redis:\n  url: redis://file:6379\n${validYaml()}`;
    expect(parseConfig(urlFile, 'gateway.yaml', { REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redis).toEqual({
      cluster: { nodes: ['127.0.0.1:7000'], tls: false },
    });
    expect(parseConfig(yaml, 'gateway.yaml', { REDIS_URL: 'redis://env:6379' }).redis).toEqual({ url: 'redis://env:6379' });
  });

  it('refuses a Redis Cluster configured wrong, naming the setting', () => {
    expect(configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis-b' })).issues).toEqual([
      {
        path: 'REDIS_CLUSTER_NODES',
        message: 'must be host:port seed nodes separated by commas (e.g. "10.0.0.5:6379,10.0.0.6:6379"), got "127.0.0.1:7000,redis-b"',
      },
    ]);
    expect(
      configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).issues,
    ).toEqual([{ path: 'REDIS_CLUSTER_NODES', message: 'set either REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both' }]);
    expect(configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'x' })).issues).toEqual([
      {
        path: 'REDIS_PASSWORD',
        message:
          'applies to a Redis Cluster (REDIS_CLUSTER_NODES or redis.cluster); for one server put the credentials in REDIS_URL (redis://user:password@host:6379)',
      },
    ]);
    const both = `redis:\n  url: redis://file:6379\n  cluster:\n    nodes: []\n    tlsCaFile: /ca.pem\n    natMap: { "a": "b:1" }\n${validYaml()}`;
    const issues = configErrorOf(() => parseConfig(both, 'gateway.yaml', {})).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'redis.cluster.nodes', message: 'must name at least one seed node (host:port)' },
        { path: 'redis.cluster.natMap.a', message: 'must be keyed by host:port (the address a node announces), got "a"' },
      ]),
    );
    const caWithoutTls = `redis:\n  cluster:\n    nodes: ["10.0.0.5:6379"]\n    tlsCaFile: /ca.pem\n${validYaml()}`;
    expect(configErrorOf(() => parseConfig(caWithoutTls, 'gateway.yaml', {})).issues).toEqual([
      { path: 'redis.cluster.tlsCaFile', message: 'tlsCaFile needs tls: true' },
    ]);
    const urlAndCluster = `redis:\n  url: redis://file:6379\n  cluster:\n    nodes: ["10.0.0.5:6379"]\n${validYaml()}`;
    expect(configErrorOf(() => parseConfig(urlAndCluster, 'gateway.yaml', {})).issues).toEqual([
      { path: 'redis', message: 'set either url (one Redis server) or cluster (a Redis Cluster), not both' },
    ]);
  });

  it('lets HOST and the <SERVICE>_URL variables win over the file, keeping the service policies', () => {
    const yaml = `downstream:\n  catalog:\n    url: http://file:1\n    retry: { maxAttempts: 2 }\n${validYaml()}`;
    const config = parseConfig(yaml, 'gateway.yaml', { HOST: '0.0.0.0', CATALOG_URL: 'http://env:4102', ORDERS_URL: 'http://env:4103' });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.downstream.catalog).toMatchObject({ url: 'http://env:4102', retry: { maxAttempts: 2 } });
    expect(config.downstream.orders.url).toBe('http://env:4103');
    expect(config.downstream.accounts.url).toBeUndefined();
  });

  it('takes server.trustProxy from TRUST_PROXY (true, false, or addresses and CIDRs) over the file', () => {
    const yaml = `server:\n  trustProxy: "10.0.0.0/8, 127.0.0.1"\n${validYaml()}`;
    expect(parseConfig(yaml, 'gateway.yaml', {}).server.trustProxy).toBe('10.0.0.0/8, 127.0.0.1');
    expect(parseConfig(yaml, 'gateway.yaml', { TRUST_PROXY: 'false' }).server.trustProxy).toBe(false);
    expect(parseConfig(validYaml(), 'gateway.yaml', { TRUST_PROXY: 'true' }).server.trustProxy).toBe(true);
    expect(parseConfig(validYaml(), 'gateway.yaml', { TRUST_PROXY: '172.30.40.10' }).server.trustProxy).toBe('172.30.40.10');
    expect(parseConfig(validYaml(), 'gateway.yaml', { TRUST_PROXY: 'loopback, fd00::/8, 10.0.0.0/255.0.0.0' }).server.trustProxy).toBe(
      'loopback, fd00::/8, 10.0.0.0/255.0.0.0',
    );
  });

  it('refuses a trustProxy entry that is not an address, CIDR or preset, in the file and in TRUST_PROXY', () => {
    const error = configErrorOf(() =>
      parseConfig(`server:\n  trustProxy: "nginx, 10.0.0.0/33"\n${validYaml()}`, 'gateway.yaml', { TRUST_PROXY: 'lb.internal' }),
    );
    expect(error.issues).toEqual([
      {
        path: 'server.trustProxy',
        message: 'must be addresses, CIDRs (10.0.0.0/8) or loopback/linklocal/uniquelocal, comma-separated (got "nginx, 10.0.0.0/33")',
      },
      {
        path: 'TRUST_PROXY',
        message: 'must be true, false, or addresses, CIDRs (10.0.0.0/8) or loopback/linklocal/uniquelocal, comma-separated (got "lb.internal")',
      },
    ]);
  });

  it('refuses a service URL variable that is not a URL, naming it', () => {
    const error = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { INVENTORY_URL: 'inventory:4104' }));
    expect(error.issues).toEqual([{ path: 'INVENTORY_URL', message: 'must be an http(s) URL, got "inventory:4104"' }]);
  });

  it.each(['http', '65536', '-1', '80.5', '0x50'])('refuses PORT=%s, naming PORT', (port) => {
    const error = configErrorOf(() => parseConfig(validYaml(), 'gateway.yaml', { PORT: port }));
    expect(error.issues).toEqual([{ path: 'PORT', message: `must be a whole number from 0 to 65535, got "${port}"` }]);
  });

  it('reports a bad PORT together with the problems in the file', () => {
    const yaml = validYaml({ acmePlan: 'gold' });
    const error = configErrorOf(() => parseConfig(yaml, 'gateway.yaml', { PORT: 'http' }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['tenants.acme.plan', 'PORT']);
  });

  it('returns a deep-frozen config', () => {
    const config = parseConfig(validYaml(), 'gateway.yaml', { PORT: '8080' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.plans.free?.limits)).toBe(true);
    expect(Object.isFrozen(config.apiKeys)).toBe(true);
    expect(Object.isFrozen(config.apiKeys[0])).toBe(true);
    // ESM modules are strict, so a write throws instead of being ignored.
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.apiKeys as unknown[]).push({})).toThrow(TypeError);
    expect(config.server.port).toBe(8080);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('reads and validates a file, naming it in errors', async () => {
    const path = join(dir, 'gateway.yaml');
    await writeFile(path, validYaml());
    await expect(loadConfigFile(path, {})).resolves.toMatchObject({ tenants: { acme: { plan: 'free' } } });

    await writeFile(path, validYaml({ acmePlan: 'gold' }));
    await expect(loadConfigFile(path, {})).rejects.toThrow(`${path}: invalid configuration (1 problem):\n  - tenants.acme.plan: unknown plan "gold"`);
  });

  it('turns a missing file into a ConfigError naming the path', async () => {
    const path = join(dir, 'missing.yaml');
    const error = await loadConfigFile(path, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: '(file)', message: `cannot read: ENOENT: no such file or directory, open '${path}'` }]);
  });
});
