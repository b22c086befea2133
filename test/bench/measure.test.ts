import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { measureServersAt, roundOrder } from '../../bench/measure.js';

/** Real HTTP servers counting what they are sent (this process stands in for their pid: CPU is read from /proc). */
async function countingServer(): Promise<{ server: Server; url: string; received: () => number }> {
  let received = 0;
  const server = createServer((_req, res) => {
    received++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => received };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('bench: a variant served by several processes (measureServersAt replicas)', () => {
  it('warms every process up, then measures them in turn, each warmed again before its run', async () => {
    const servers = [await countingServer(), await countingServer(), await countingServer()];
    for (const { server } of servers) cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const [first, ...replicas] = servers;
    const counts = () => servers.map((s) => s.received());
    // What each process had received as each measured run was logged (it is logged as it ends).
    const afterRun: number[][] = [];
    const measured = await measureServersAt(
      [{ name: 'replicated', url: first!.url, pid: process.pid, replicas: replicas.map((s) => ({ url: s.url, pid: process.pid })) }],
      { path: '/', headers: {}, body: '' },
      2,
      { durationMs: 150, concurrency: 2, warmupMs: 100, rounds: 4, compiled: false },
      (line) => {
        if (line.startsWith('round ')) afterRun.push(counts());
      },
      cleanups,
    );
    const { runs } = measured.results[0]!;
    expect(runs).toHaveLength(4);
    // By the end of the first measured run (on the first process), the other two had been sent their warm-up.
    expect(afterRun[0]![1]).toBeGreaterThan(0);
    expect(afterRun[0]![2]).toBeGreaterThan(0);
    // Runs 2, 3 and 4 went to the second, the third, then the first process again, and to no other;
    // each was sent an unmeasured run first (it had idled through the others' runs).
    for (const [run, expected] of [
      [1, 1],
      [2, 2],
      [3, 0],
    ] as const) {
      const sent = afterRun[run]!.map((count, i) => count - afterRun[run - 1]![i]!);
      for (const [i, count] of sent.entries()) if (i !== expected) expect(count).toBe(0);
      expect(sent[expected]!).toBeGreaterThan(runs[run]!.requests);
    }
    expect(measured.sent('replicated')).toBe(counts().reduce((a, b) => a + b, 0));
  });
});

describe('bench: the order of the variants in each round (roundOrder)', () => {
  /** The rounds of one cycle of `n` variants' orders. */
  const cycleOf = (n: number) => Array.from({ length: n % 2 === 0 ? n : 2 * n }, (_, i) => roundOrder(n, i + 1));

  it('two variants alternate, as before: off, on, then on, off', () => {
    expect(cycleOf(2)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(roundOrder(2, 3)).toEqual([0, 1]);
  });

  it('every variant runs in every position of a round equally often, so no variant keeps the edges', () => {
    for (const n of [3, 4, 5, 6]) {
      const rounds = cycleOf(n);
      for (const order of rounds) expect([...order].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
      for (let position = 0; position < n; position++) {
        const counts = Array.from({ length: n }, (_, variant) => rounds.filter((order) => order[position] === variant).length);
        expect(new Set(counts).size, `${n} variants, position ${position}: ${counts}`).toBe(1);
      }
    }
  });

  it('with an even number of variants, each follows every other one exactly once a cycle', () => {
    for (const n of [4, 6]) {
      const pairs = cycleOf(n).flatMap((order) => order.slice(1).map((variant, i) => `${order[i]}>${variant}`));
      expect(new Set(pairs).size).toBe(n * (n - 1));
      expect(pairs).toHaveLength(n * (n - 1));
    }
  });
});
