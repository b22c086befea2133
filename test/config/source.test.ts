import { mkdir, open, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createConfigSource, staticConfigSource, type ConfigSource } from '../../src/config/source.js';
import { makeTempDir, memoryLogger, validYaml as configYaml } from './helpers.js';

/** The tests below that are not about the settle period use a short one, to run quickly. */
const validYaml = (options: Parameters<typeof configYaml>[0] = {}) => configYaml({ settleMs: 150, ...options });

/** Long enough for several polls (100 ms) and the debounce to have run, if they were going to. */
const SETTLE_MS = 400;
const waitOptions = { timeout: 5000, interval: 20 };

describe('createConfigSource', () => {
  let dir: string;
  let path: string;
  let cleanup: () => Promise<void>;
  let source: ConfigSource | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    path = join(dir, 'gateway.yaml');
    await writeFile(path, validYaml());
  });
  afterEach(async () => {
    source?.close();
    source = undefined;
    await cleanup();
  });

  it('refuses to start on an invalid file, listing every problem', async () => {
    await writeFile(path, validYaml({ acmePlan: 'gold' }).replace('role: admin', 'role: owner'));
    const { logger } = memoryLogger();
    const error = await createConfigSource({ path, logger, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['apiKeys[0].role', 'tenants.acme.plan']);
  });

  it('applies env overrides to the first and to reloaded configs', async () => {
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: { PORT: '9999' }, pollIntervalMs: 100 });
    expect(source.current().server.port).toBe(9999);
    await writeFile(path, validYaml({ freeRequestsPerMinute: 7 }));
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(7);
    expect(source.current().server.port).toBe(9999);
  });

  it('applies a valid change, refuses an invalid one with a log line, then applies the next valid one', async () => {
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 100 });
    const first = source.current();
    const listener = vi.fn<(next: Config, previous: Config) => void>();
    source.onChange(listener);

    await writeFile(path, validYaml({ freeRequestsPerMinute: 250 }));
    await vi.waitFor(() => expect(listener).toHaveBeenCalledTimes(1), waitOptions);
    const second = source.current();
    expect(second.plans.free?.limits.requestsPerMinute).toBe(250);
    expect(listener).toHaveBeenLastCalledWith(second, first);
    expect(Object.isFrozen(second.plans.free?.limits)).toBe(true);

    await writeFile(path, validYaml({ acmePlan: 'gold', freeRequestsPerMinute: 999 }));
    await vi.waitFor(() => expect(lines.some((line) => line.level === 40)).toBe(true), waitOptions);
    const refusal = lines.find((line) => line.level === 40);
    expect(refusal?.issues).toEqual([{ path: 'tenants.acme.plan', message: 'unknown plan "gold"' }]);
    expect(refusal?.msg).toContain('keeping the previous configuration');
    expect(refusal?.configPath).toBe(path);
    expect(source.current()).toBe(second);
    expect(listener).toHaveBeenCalledTimes(1);
    // The refused file is not refused again on every poll.
    await sleep(SETTLE_MS);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);

    await writeFile(path, validYaml({ freeRequestsPerMinute: 300 }));
    await vi.waitFor(() => expect(listener).toHaveBeenCalledTimes(2), waitOptions);
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(300);
    expect(listener).toHaveBeenLastCalledWith(source.current(), second);
  });

  it('waits for a file written in place to settle instead of applying or refusing a half-written one', async () => {
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 20 });
    const listener = vi.fn<(next: Config, previous: Config) => void>();
    source.onChange(listener);

    // As `cat > gateway.yaml` does: truncate, then the text arrives in pieces. The first pieces
    // are a valid config without the API key, which must never be applied, even briefly.
    const text = validYaml({ freeRequestsPerMinute: 11 });
    const pieces = [text.slice(0, text.indexOf('apiKeys:')), text.slice(text.indexOf('apiKeys:'), -20), text.slice(-20)];
    const file = await open(path, 'w');
    try {
      for (const piece of pieces) {
        await file.write(piece);
        await sleep(30);
      }
    } finally {
      await file.close();
    }
    await vi.waitFor(() => expect(listener).toHaveBeenCalled(), waitOptions);
    await sleep(SETTLE_MS);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(source.current().apiKeys).toHaveLength(1);
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(11);
    expect(lines.filter((line) => line.level === 40)).toEqual([]);
  });

  it('with the default settle period, never applies a file written in two chunks 500 ms apart', async () => {
    // Two keys for acme; the first chunk ends after the first key, so it is a valid config that
    // only drops a key (the revocation guard would let it through): the settle period alone
    // must keep it out.
    const key = (id: string, hex: string) => [`  - id: ${id}`, '    tenant: acme', '    role: admin', `    sha256: ${hex.repeat(64)}`];
    const before = `${[...configYaml().split('\n').filter(Boolean), ...key('acme-ops', 'b')].join('\n')}\n`;
    await writeFile(path, before);
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 20 });
    expect(source.current().reload.settleMs).toBe(2000);
    const applied: Config[] = [];
    source.onChange((next) => void applied.push(next));

    const after = `${[...configYaml({ freeRequestsPerMinute: 55 }).split('\n').filter(Boolean), ...key('acme-ops', 'b')].join('\n')}\n`;
    const cut = after.indexOf('  - id: acme-ops');
    const file = await open(path, 'w');
    let written = 0;
    try {
      await file.write(after.slice(0, cut));
      await sleep(500);
      await file.write(after.slice(cut));
      written = performance.now();
    } finally {
      await file.close();
    }
    await vi.waitFor(() => expect(applied).toHaveLength(1), waitOptions);
    const appliedAfter = performance.now() - written;
    await sleep(SETTLE_MS);
    expect(applied).toHaveLength(1);
    expect(applied[0]!.apiKeys.map((k) => k.id)).toEqual(['acme-web', 'acme-ops']);
    expect(applied[0]!.plans.free?.limits.requestsPerMinute).toBe(55);
    // Applied once the whole file had been stable for the settle period after the second chunk.
    expect(appliedAfter).toBeGreaterThanOrEqual(2000);
  });

  it('refuses a reload that would revoke every key of a tenant or every platform-admin key, unless the file allows it', async () => {
    const admins = ['platformAdminKeys:', '  - id: ops', `    sha256: ${'c'.repeat(64)}`, ''].join('\n');
    await writeFile(path, validYaml() + admins);
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 60_000 });
    const before = source.current();

    // acme stays configured, but its only key is gone (a file cut before `apiKeys:`).
    const full = validYaml({ freeRequestsPerMinute: 9 });
    const withoutKeys = full.slice(0, full.indexOf('apiKeys:'));
    await writeFile(path, withoutKeys + admins);
    const refused = await source.reloadNow();
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.issues).toEqual([
      {
        path: 'tenants.acme',
        message:
          'the change would revoke every API key and service token of tenant "acme" (it has 1); set reload.allowRevokingAllKeys: true in the file if this is intended',
      },
    ]);
    expect(source.current()).toBe(before);
    expect(lines.filter((l) => l.level === 40).at(-1)?.msg).toContain('configuration change refused, keeping the previous configuration');

    // Every platform-admin key gone (a file cut before its last section).
    await writeFile(path, validYaml({ freeRequestsPerMinute: 9 }));
    const noAdmins = await source.reloadNow();
    expect(!noAdmins.ok && noAdmins.error.issues.map((i) => i.path)).toEqual(['platformAdminKeys']);
    expect(source.current()).toBe(before);

    // Offboarding: the tenant leaves together with its keys.
    await writeFile(path, `${withoutKeys.replace(/tenants:[\s\S]*$/, 'tenants: {}\n')}${admins}`);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(Object.keys(source.current().tenants)).toEqual([]);

    // The explicit flag lets a tenant keep no key.
    await writeFile(path, validYaml() + admins);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    await writeFile(path, `reload:\n  allowRevokingAllKeys: true\n${withoutKeys.replace(/^reload:\n {2}settleMs: \d+\n/, '')}${admins}`);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(source.current().apiKeys).toEqual([]);
    expect(Object.keys(source.current().tenants)).toEqual(['acme']);
  });

  it('keeps settings read only at start at their running values and logs that they need a restart', async () => {
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 60_000 });
    const listener = vi.fn();
    source.onChange(listener);

    await writeFile(path, `server:\n  port: 4555\n  bodyLimitBytes: 2048\n${validYaml({ freeRequestsPerMinute: 12 })}`);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(12);
    expect(source.current().server.port).toBe(4000);
    expect(source.current().server.bodyLimitBytes).toBe(1024 * 1024);
    expect(listener).toHaveBeenCalledTimes(1);
    const restart = lines.find((l) => l.level === 40);
    expect(restart?.needsRestart).toEqual(['server.port', 'server.bodyLimitBytes']);
    expect(restart?.msg).toBe(
      'configuration changes that apply only at the next restart (kept at their running values until then): server.port, server.bodyLimitBytes',
    );
    expect(lines.find((l) => l.msg === 'configuration reloaded')?.applied).toEqual(['plans.free.limits.requestsPerMinute']);

    // A change of restart-only settings alone applies nothing and says so.
    lines.length = 0;
    await writeFile(path, `server:\n  port: 4556\n${validYaml({ freeRequestsPerMinute: 12 })}`);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(listener).toHaveBeenCalledTimes(1);
    expect(lines.map((l) => [l.level, l.needsRestart ?? l.msg])).toEqual([[40, ['server.port']]]);
  });

  it('reports a refused change from reloadNow and keeps the old config', async () => {
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 60_000 });
    const before = source.current();
    await writeFile(path, 'plans: [\n');
    const result = await source.reloadNow();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.issues[0]?.path).toMatch(/^line \d+, column \d+$/);
    expect(source.current()).toBe(before);
  });

  it('does not call listeners when the file changes but the config it describes does not', async () => {
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 100 });
    const before = source.current();
    const listener = vi.fn();
    source.onChange(listener);

    await writeFile(path, validYaml()); // the same bytes
    await writeFile(path, `# reviewed by ops\n${validYaml()}`); // different bytes, same config
    await sleep(SETTLE_MS);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(listener).not.toHaveBeenCalled();
    expect(source.current()).toBe(before);
    expect(lines.filter((line) => line.msg === 'configuration reloaded')).toEqual([]);
  });

  it('stops calling a listener once it unsubscribes', async () => {
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 100 });
    const kept = vi.fn();
    const dropped = vi.fn();
    source.onChange(kept);
    const unsubscribe = source.onChange(dropped);
    unsubscribe();

    await writeFile(path, validYaml({ freeRequestsPerMinute: 5 }));
    await vi.waitFor(() => expect(kept).toHaveBeenCalledTimes(1), waitOptions);
    expect(dropped).not.toHaveBeenCalled();
  });

  it('keeps notifying the other listeners when one throws', async () => {
    const { logger, lines } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 60_000 });
    const after = vi.fn();
    source.onChange(() => {
      throw new Error('boom');
    });
    source.onChange(after);
    await writeFile(path, validYaml({ freeRequestsPerMinute: 5 }));
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(after).toHaveBeenCalledTimes(1);
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(5);
    expect(lines.some((line) => line.level === 50 && line.msg === 'a configuration change listener threw')).toBe(true);
  });

  it('notices an editor-style atomic rename promptly through fs.watch, long before the next poll', async () => {
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 60_000 });
    const listener = vi.fn();
    source.onChange(listener);
    await writeFile(join(dir, '.gateway.yaml.swp'), validYaml({ freeRequestsPerMinute: 42 }));
    await rename(join(dir, '.gateway.yaml.swp'), path);
    await vi.waitFor(() => expect(listener).toHaveBeenCalledTimes(1), waitOptions);
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(42);
  });

  it('notices through polling a change fs.watch cannot see (a Kubernetes-style directory symlink swap)', async () => {
    // config -> v1/ is swapped for config -> v2/: the watched directory itself never changes.
    await mkdir(join(dir, 'v1'));
    await mkdir(join(dir, 'v2'));
    await writeFile(join(dir, 'v1', 'gateway.yaml'), validYaml());
    await writeFile(join(dir, 'v2', 'gateway.yaml'), validYaml({ freeRequestsPerMinute: 77 }));
    await symlink('v1', join(dir, 'config'));
    const { logger } = memoryLogger();
    source = await createConfigSource({ path: join(dir, 'config', 'gateway.yaml'), logger, env: {}, pollIntervalMs: 100 });
    const listener = vi.fn();
    source.onChange(listener);

    await symlink('v2', join(dir, 'config.next'));
    await rename(join(dir, 'config.next'), join(dir, 'config'));
    await vi.waitFor(() => expect(listener).toHaveBeenCalledTimes(1), waitOptions);
    expect(source.current().plans.free?.limits.requestsPerMinute).toBe(77);
  });

  it('stops watching on close: later changes are ignored', async () => {
    const { logger } = memoryLogger();
    source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 100 });
    const before = source.current();
    const listener = vi.fn();
    source.onChange(listener);
    source.close();

    await writeFile(path, validYaml({ freeRequestsPerMinute: 5 }));
    await sleep(SETTLE_MS);
    expect(listener).not.toHaveBeenCalled();
    expect(source.current()).toBe(before);
  });
});

describe('createConfigSource timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves no timer behind after close', async () => {
    const { dir, cleanup } = await makeTempDir();
    const path = join(dir, 'gateway.yaml');
    await writeFile(path, validYaml());
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const { logger } = memoryLogger();
      const source = await createConfigSource({ path, logger, env: {}, pollIntervalMs: 100 });
      expect(vi.getTimerCount()).toBeGreaterThan(0); // the poll is scheduled
      source.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
      await cleanup();
    }
  });
});

describe('staticConfigSource', () => {
  it('always returns the config it was given and never reports a change', async () => {
    const config = parseConfig(validYaml(), 'inline', {});
    const source = staticConfigSource(config);
    const listener = vi.fn();
    const unsubscribe = source.onChange(listener);
    await expect(source.reloadNow()).resolves.toEqual({ ok: true });
    expect(source.current()).toBe(config);
    expect(listener).not.toHaveBeenCalled();
    unsubscribe();
    source.close();
    expect(source.current()).toBe(config);
  });
});
