import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlerts } from '../../src/alerts/alerts.js';
import type { AlertEvent } from '../../src/alerts/events.js';
import { signBody, verifySignature } from '../../src/alerts/verify.js';
import type { WebhookConfig } from '../../src/alerts/webhook.js';
import { parseRetryAfter } from '../../src/alerts/webhook.js';
import { captureLogger } from './capture.js';

const SECRET = 'whsec_test_0123456789';

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
  method: string;
  at: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real receiver on port 0; `answer` decides each response from the attempt number (1-based). */
async function receiver(answer: (attempt: number, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, method: req.method ?? '', at: Date.now() });
      answer(received.length, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/gateway`;
  return { url, received };
}

function alertsWith(webhook: WebhookConfig) {
  const log = captureLogger();
  const alerts = createAlerts({ logger: log.logger, redis: null, webhook });
  return { log, alerts };
}

const crossing = { tenantId: 'acme', planId: 'pro', results: [{ policy: 'day', used: 80, limit: 100, resetAt: Date.UTC(2030, 0, 1) }] };

describe('alert webhook', () => {
  it('POSTs the event as signed JSON that verifySignature accepts, and rejects when tampered', async () => {
    const hook = await receiver((_n, res) => res.writeHead(204).end());
    const { alerts, log } = alertsWith({ url: hook.url, secret: SECRET });
    alerts.observeLimits(crossing);
    await alerts.flush();

    expect(hook.received).toHaveLength(1);
    const [request] = hook.received as [Received];
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    const event = JSON.parse(request.body) as AlertEvent;
    expect(event).toEqual(log.alerts()[0]);
    expect(request.headers['x-gateway-event-id']).toBe(event.id);
    const signature = request.headers['x-gateway-signature'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);

    expect(verifySignature(request.body, signature, SECRET)).toBe(true);
    expect(verifySignature(request.body.replace('"used":80', '"used":8'), signature, SECRET)).toBe(false);
    expect(verifySignature(`${request.body} `, signature, SECRET)).toBe(false);
    expect(verifySignature(request.body, signature, 'another secret')).toBe(false);
    expect(alerts.stats()).toMatchObject({ delivered: 1, failed: 0, emitted: 1 });
  });

  it('retries 503 with backoff: 503, 503, 200 is three attempts of the same event', async () => {
    const hook = await receiver((n, res) => res.writeHead(n <= 2 ? 503 : 200).end());
    const { alerts } = alertsWith({ url: hook.url, secret: SECRET, baseDelayMs: 20 });
    alerts.observeLimits(crossing);
    await alerts.flush();
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.body)).size).toBe(1);
    expect(new Set(hook.received.map((r) => r.headers['x-gateway-event-id'])).size).toBe(1);
    // Backoff: at least half of 20 ms, then half of 40 ms (jitter keeps half of each).
    expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(10 - 1);
    expect(hook.received[2]!.at - hook.received[1]!.at).toBeGreaterThanOrEqual(20 - 1);
    expect(alerts.stats()).toMatchObject({ delivered: 1, failed: 0 });
  });

  it('gives up after maxAttempts, logging the failure', async () => {
    const hook = await receiver((_n, res) => res.writeHead(500).end());
    const { alerts, log } = alertsWith({ url: hook.url, secret: SECRET, maxAttempts: 3, baseDelayMs: 1 });
    alerts.observeLimits(crossing);
    await alerts.flush();
    expect(hook.received).toHaveLength(3);
    expect(alerts.stats()).toMatchObject({ delivered: 0, failed: 1 });
    expect(log.lines.find((l) => l.msg === 'alert webhook delivery failed')).toMatchObject({ attempts: 3, reason: 'HTTP 500' });
  });

  it('does not retry a 4xx other than 429', async () => {
    const hook = await receiver((_n, res) => res.writeHead(400).end());
    const { alerts } = alertsWith({ url: hook.url, secret: SECRET, baseDelayMs: 1 });
    alerts.observeLimits(crossing);
    await alerts.flush();
    expect(hook.received).toHaveLength(1);
    expect(alerts.stats().failed).toBe(1);
  });

  it('honours Retry-After on 429', async () => {
    const hook = await receiver((n, res) => (n === 1 ? res.writeHead(429, { 'retry-after': '1' }).end() : res.writeHead(200).end()));
    const { alerts } = alertsWith({ url: hook.url, secret: SECRET, baseDelayMs: 1 });
    alerts.observeLimits(crossing);
    await alerts.flush();
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(1000 - 5);
  });

  it('retries network errors', async () => {
    const hook = await receiver((n, res) => (n === 1 ? res.socket?.destroy() : res.writeHead(200).end()));
    const { alerts } = alertsWith({ url: hook.url, secret: SECRET, baseDelayMs: 1 });
    alerts.observeLimits(crossing);
    await alerts.flush();
    expect(hook.received).toHaveLength(2);
    expect(alerts.stats().delivered).toBe(1);
  });

  it('never blocks the caller, and drops (counting and logging) beyond a full queue', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const hook = await receiver((_n, res) => void gate.then(() => res.writeHead(200).end()));
    const { alerts, log } = alertsWith({ url: hook.url, secret: SECRET, concurrency: 1, maxQueue: 1 });
    for (const tenantId of ['t1', 't2', 't3', 't4']) alerts.observeLimits({ ...crossing, tenantId });
    // observeLimits returned while the receiver holds the first request.
    expect(alerts.stats()).toMatchObject({ emitted: 4, inFlight: 1, queued: 1, dropped: 2 });
    expect(log.lines.filter((l) => l.msg === 'alert webhook queue full; event dropped (it was logged)')).toHaveLength(2);
    release();
    await alerts.flush();
    expect(hook.received.map((r) => (JSON.parse(r.body) as AlertEvent).tenantId)).toEqual(['t1', 't2']);
    expect(log.alerts()).toHaveLength(4); // every event is logged regardless
  });
});

describe('verifySignature', () => {
  it('accepts its own signature and rejects malformed headers', () => {
    const body = '{"a":1}';
    expect(verifySignature(body, signBody(body, 's'), 's')).toBe(true);
    expect(verifySignature(body, signBody(body, 's').toUpperCase().replace('SHA256', 'sha256'), 's')).toBe(true);
    for (const header of ['', 'sha256=', 'sha1=abc', signBody(body, 's').slice(0, -2), `${signBody(body, 's')}00`, 'sha256=zz'.padEnd(71, 'z')]) {
      expect(verifySignature(body, header, 's'), header).toBe(false);
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
