import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startGatewayProcess } from '../support/gateway-process.js';

/**
 * The export thread's entry is a file Node loads by itself (src/tracing/otlp-export-worker.mjs,
 * emitted into dist/ by the build): these run it as `npm run dev` (tsx) and `npm start` (the
 * compiled build) do, where vitest's in-process gateways cannot.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const bodies: string[] = [];
const collector = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    bodies.push(Buffer.concat(chunks).toString('latin1'));
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
beforeAll(() => new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

describe.each([
  { how: 'src/main.ts under tsx', compiled: false },
  { how: 'the compiled build, dist/main.js', compiled: true },
])('a gateway process running $how', ({ compiled }) => {
  beforeAll(() => {
    if (!compiled) return;
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--only', 'server'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed (${build.status ?? build.signal}):\n${build.stdout}${build.stderr}`);
  }, 120_000);

  it('exports its spans through its export thread, and a stop (SIGTERM) flushes what is buffered', async () => {
    const service = `process-${compiled ? 'compiled' : 'tsx'}`;
    const gateway = await startGatewayProcess({
      compiled,
      logLevel: 'warn',
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        OTEL_SERVICE_NAME: service,
        // Nothing leaves before the stop: what arrives was flushed by it.
        OTEL_BSP_SCHEDULE_DELAY: '60000',
      },
    });
    let exit: Awaited<ReturnType<typeof gateway.close>> | undefined;
    try {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.globexAdmin}` },
        body: JSON.stringify({ query: 'query Who { viewer { tenant { displayName } } }' }),
      });
      expect(response.status).toBe(200);
      await response.text();
      await new Promise((resolve) => setTimeout(resolve, 300)); // the server span ends after the response
      expect(bodies.some((body) => body.includes(service))).toBe(false);
    } finally {
      exit = await gateway.close();
    }
    expect(exit).toEqual({ code: 0, signal: null });
    const sent = bodies.filter((body) => body.includes(service)).join('');
    for (const text of ['POST /graphql', 'graphql.operation.name', 'Who', 'gateway.tenant.id', 'globex']) expect(sent).toContain(text);
    // No warning or error of tracing on the way: the thread started and stopped cleanly.
    const tracingProblems = gateway
      .output()
      .split('\n')
      .filter((line) => /"level":(40|50)/.test(line) && /tracing|OTLP|export/.test(line));
    expect(tracingProblems).toEqual([]);
  });
});
