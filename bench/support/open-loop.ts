import { Pool } from 'undici';
import type { LoadTarget } from '../load.js';

/** What an open-loop run saw, by outcome: `200`, `200 errors` (a GraphQL error inside), other statuses, `network`, `skipped`. */
export type OpenLoopCounts = Record<string, number>;

export interface OpenLoop {
  /** Sends `perSecond` requests a second, whatever the answers, until `stop`; answers are read and counted. */
  start(): void;
  /** Stops sending and waits (at most `REQUEST_TIMEOUT_MS`) for the requests still out. */
  stop(): Promise<OpenLoopCounts>;
  close(): Promise<void>;
}

/** Most requests out at once: past it a due request is counted `skipped`, not sent (the bench stays bounded). */
const MAX_IN_FLIGHT = 512;
/** A request that takes longer than this (10 s) is given up, as in load.ts. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How often due requests are sent, ms. */
const TICK_MS = 5;

/**
 * An open-loop sender: a fixed offered rate, as traffic from many independent clients is, so a
 * service that fails faster does not draw more requests (a closed loop would send more when
 * answers come back sooner, and the comparison would be of different loads). Only 127.0.0.1.
 */
export function createOpenLoop(target: LoadTarget, perSecond: number): OpenLoop {
  const origin = new URL(target.origin);
  if (origin.hostname !== '127.0.0.1') throw new Error(`benchmarks send traffic only to this machine (127.0.0.1): ${target.origin}`);
  const pool = new Pool(origin.origin, { connections: MAX_IN_FLIGHT, pipelining: 1, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  let timer: NodeJS.Timeout | undefined;
  let counts: OpenLoopCounts = {};
  const out = new Set<Promise<void>>();
  const count = (outcome: string) => (counts[outcome] = (counts[outcome] ?? 0) + 1);

  function send(): void {
    const request = pool
      .request({ method: 'POST', path: target.path, headers: target.headers, body: target.body })
      .then(async (response) => {
        const body = await response.body.text();
        count(response.statusCode === 200 && body.includes('"errors"') ? '200 errors' : String(response.statusCode));
      })
      .catch(() => {
        count('network');
      })
      .finally(() => out.delete(request));
    out.add(request);
  }

  return {
    start() {
      counts = {};
      const started = performance.now();
      let sent = 0;
      timer = setInterval(() => {
        const due = Math.floor(((performance.now() - started) * perSecond) / 1000);
        for (; sent < due; sent++) {
          if (out.size >= MAX_IN_FLIGHT) count('skipped');
          else send();
        }
      }, TICK_MS);
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(out);
      return counts;
    },
    close: () => pool.close(),
  };
}
