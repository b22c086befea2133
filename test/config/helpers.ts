import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import type { Logger } from '../../src/observability/logger.js';

/** A fresh directory under the OS temp dir; `cleanup` removes it. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A real pino logger whose JSON lines are kept in memory, for asserting what was logged. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  // pino writes one complete JSON line per call to a plain `{ write }` destination.
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A small valid config, with the values the tests vary (`settleMs` absent: the default settle period). */
export function validYaml(options: { acmePlan?: string; freeRequestsPerMinute?: number; settleMs?: number } = {}): string {
  return [
    ...(options.settleMs === undefined ? [] : ['reload:', `  settleMs: ${options.settleMs}`]),
    'plans:',
    '  free:',
    '    displayName: Free',
    '    limits:',
    `      requestsPerMinute: ${options.freeRequestsPerMinute ?? 100}`,
    '  pro:',
    '    displayName: Pro',
    'tenants:',
    '  acme:',
    '    displayName: Acme Corp',
    `    plan: ${options.acmePlan ?? 'free'}`,
    'apiKeys:',
    '  - id: acme-web',
    '    tenant: acme',
    '    role: admin',
    `    sha256: ${'a'.repeat(64)}`,
    '',
  ].join('\n');
}

/** Runs `fn`, which must throw a ConfigError, and returns that error. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
