import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway } from '../support/gateway.js';

/** What the collector thread reports: each POST it received, with its own clock's time. */
interface Post {
  n: number;
  at: number;
}

/**
 * A stand-in OTLP/HTTP collector on a thread of its own, so that it keeps receiving while the
 * test's thread (the gateway's main thread: the gateway runs in-process) is busy. It asks the
 * first export to be retried in 1 s (503, `Retry-After: 1`: the OTLP exporter honours it) and
 * accepts the rest. CommonJS: eval'd worker source is a script.
 */
const COLLECTOR_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
let n = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    n += 1;
    parentPort.postMessage({ type: 'post', n, at: Date.now() });
    if (n === 1) res.writeHead(503, { 'retry-after': '1' }).end();
    else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
`;

let collector: Worker;
let port: number;
const posts: Post[] = [];
beforeAll(async () => {
  collector = new Worker(COLLECTOR_SOURCE, { eval: true });
  port = await new Promise<number>((resolve) => {
    collector.on('message', (message: { type: 'listening'; port: number } | ({ type: 'post' } & Post)) => {
      if (message.type === 'listening') resolve(message.port);
      else posts.push({ n: message.n, at: message.at });
    });
  });
});
afterAll(() => collector.terminate());

it("the OTLP export runs on a thread of its own: an export's retry goes out while the gateway's main thread is busy", async () => {
  const gateway = await startTestGateway({ env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
  try {
    expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { tenant { displayName } } }')).status).toBe(200);
    // The first batch (200 ms) reaches the collector, which asks for a retry in 1 s.
    expect(await eventually(() => posts.length >= 1)).toBe(true);
    // This thread, the gateway's main thread, now busy for 2.5 s: no timer or socket of it runs meanwhile.
    const busyFrom = Date.now();
    while (Date.now() - busyFrom < 2500) {
      // busy
    }
    const busyUntil = Date.now();
    expect(await eventually(() => posts.length >= 2)).toBe(true);
    // Sent by the exporter's own retry timer 1 s after the 503, during the busy stretch: that timer
    // and the HTTP client that sent it are on another thread (on this one, the retry would wait for the end).
    expect(posts[1]!.at).toBeLessThan(busyUntil - 500);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(900);
  } finally {
    await gateway.close();
  }
});
