import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Issue 9, defect 7: `cache.memoryMaxBytes` bounds the heap the in-process store takes, measured
 * (heapUsed after a forced GC, in a process of its own: memory-probe.ts) with many distinct
 * entries, more than fit, of every shape the field cache stores; and TTL-expired entries are swept
 * out. Before, `memoryMaxChars` counted characters: this mix took 1.8x its bound, the 5-7x.
 */
const PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
const MiB = 1024 * 1024;

interface Probe {
  maxBytes: number;
  offered: number;
  filled: number;
  entries: number;
  afterExpiry: number;
  entriesAfterExpiry: number;
}

async function probe(maxBytes: number, offered: number, ttlMs: number, purgeMs: number, mix: string): Promise<Probe> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', PROBE, ...[maxBytes, offered, ttlMs, purgeMs].map(String), mix],
    {
      timeout: 120_000,
      env: { ...process.env, LOG_LEVEL: 'silent' },
    },
  );
  return JSON.parse(stdout) as Probe;
}

describe('the in-process store is bounded in bytes of heap', () => {
  it.each(['small', 'mixed', 'large'])('%s entries: heap within 20 percent of memoryMaxBytes once full', { timeout: 130_000 }, async (mix) => {
    const result = await probe(24 * MiB, 48 * MiB, 3_600_000, 10_000, mix);
    expect(result.entries).toBeLessThan(result.offered); // more was offered than fits: the bound decided
    const ratio = result.filled / result.maxBytes;
    expect(ratio, `heap ${result.filled} bytes for a bound of ${result.maxBytes}`).toBeGreaterThan(0.8);
    expect(ratio, `heap ${result.filled} bytes for a bound of ${result.maxBytes}`).toBeLessThan(1.2);
  });

  it('expired entries are swept out without being read', { timeout: 130_000 }, async () => {
    const result = await probe(16 * MiB, 8 * MiB, 500, 100, 'mixed');
    expect(result.entries).toBeGreaterThan(0);
    expect(result.entriesAfterExpiry).toBe(0);
    expect(result.afterExpiry).toBeLessThan(result.filled / 4);
  });
});
