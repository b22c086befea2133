import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlerts } from '../../src/alerts/alerts.js';
import type { AlertEvent } from '../../src/alerts/events.js';
import { checkSignature, signatureHeader, verifySignature } from '../../src/alerts/verify.js';
import type { WebhookConfig } from '../../src/alerts/webhook.js';
import { createWebhookSender, parseRetryAfter } from '../../src/alerts/webhook.js';
import { captureLogger, manualClock } from './capture.js';

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

/** `t` and the first `v1` of a signature header, or the test fails on its format. */
function parseHeader(header: string): { t: number; v1: string } {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  expect(match, header).not.toBeNull();
  return { t: Number(match?.[1]), v1: match?.[2] ?? '' };
}

function signatureOf(request: Received): string {
  return String(request.headers['x-gateway-signature']);
}

const crossing = { tenantId: 'acme', planId: 'pro', results: [{ policy: 'day', used: 80, limit: 100, resetAt: Date.UTC(2030, 0, 1) }] };

/** One real delivery of a threshold crossing. */
async function oneDelivery(): Promise<Received> {
  const hook = await receiver((_n, res) => res.writeHead(204).end());
  const { alerts } = alertsWith({ url: hook.url, secret: SECRET });
  alerts.observeLimits(crossing);
  await alerts.flush();
  expect(hook.received).toHaveLength(1);
  return hook.received[0] as Received;
}

describe('alert webhook', () => {
  it('POSTs the event as JSON signed with a timestamp (t=<unix s>,v1=<hex>) that verifySignature accepts', async () => {
    const hook = await receiver((_n, res) => res.writeHead(204).end());
    const { alerts, log } = alertsWith({ url: hook.url, secret: SECRET });
    const sentAfter = Math.floor(Date.now() / 1000);
    alerts.observeLimits(crossing);
    await alerts.flush();

    expect(hook.received).toHaveLength(1);
    const [request] = hook.received as [Received];
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    const event = JSON.parse(request.body) as AlertEvent;
    expect(event).toEqual(log.alerts()[0]);
    expect(request.headers['x-gateway-event-id']).toBe(event.id);
    const { t } = parseHeader(signatureOf(request));
    // Signed when sent: between the call and the receipt.
    expect(t).toBeGreaterThanOrEqual(sentAfter);
    expect(t).toBeLessThanOrEqual(Math.floor(request.at / 1000));

    expect(verifySignature(request.body, signatureOf(request), SECRET)).toBe(true);
    expect(checkSignature(request.body, signatureOf(request), SECRET)).toBe('valid');
    expect(alerts.stats()).toMatchObject({ delivered: 1, failed: 0, emitted: 1 });
  });

  it('rejects a delivery whose body was tampered with or that is checked with another secret', async () => {
    const request = await oneDelivery();
    const signature = signatureOf(request);
    expect(checkSignature(request.body.replace('"used":80', '"used":8'), signature, SECRET)).toBe('mismatch');
    expect(checkSignature(`${request.body} `, signature, SECRET)).toBe('mismatch');
    expect(checkSignature(request.body, signature, 'another secret')).toBe('mismatch');
    expect(verifySignature(request.body.replace('"used":80', '"used":8'), signature, SECRET)).toBe(false);
  });

  it('rejects the same delivery replayed after the 5-minute tolerance, in either direction', async () => {
    const request = await oneDelivery();
    const signature = signatureOf(request);
    const sentMs = parseHeader(signature).t * 1000;
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs + 299_000 })).toBe('valid');
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs + 301_000 })).toBe('expired');
    expect(verifySignature(request.body, signature, SECRET, { now: sentMs + 301_000 })).toBe(false);
    // A day later, as a captured request would be replayed.
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs + 86_400_000 })).toBe('expired');
    // A receiver clock 5 minutes behind the gateway's is as far as it may be.
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs - 299_000 })).toBe('valid');
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs - 301_000 })).toBe('expired');
    // toleranceSeconds widens or narrows it.
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs + 301_000, toleranceSeconds: 600 })).toBe('valid');
    expect(checkSignature(request.body, signature, SECRET, { now: sentMs + 11_000, toleranceSeconds: 10 })).toBe('expired');
  });

  it('rejects a delivery whose timestamp was moved (a replay passed off as fresh)', async () => {
    const request = await oneDelivery();
    const signature = signatureOf(request);
    const { t, v1 } = parseHeader(signature);
    const later = t + 3600;
    // The replayer rewrites t to its own now; the v1 no longer matches.
    expect(checkSignature(request.body, `t=${later},v1=${v1}`, SECRET, { now: later * 1000 })).toBe('mismatch');
    expect(checkSignature(request.body, `t=${t - 1},v1=${v1}`, SECRET)).toBe('mismatch');
    expect(checkSignature(request.body, `t=0${t},v1=${v1}`, SECRET)).toBe('mismatch');
  });

  it('signs each attempt when it is sent: a retry carries a fresh timestamp and signature', async () => {
    const clock = manualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
    // Ten minutes pass (on the sender's clock) between the attempts: longer than the tolerance.
    const hook = await receiver((n, res) => {
      clock.advance(600_000);
      res.writeHead(n === 1 ? 503 : 200).end();
    });
    const sender = createWebhookSender({ config: { url: hook.url, secret: SECRET, baseDelayMs: 1 }, logger: captureLogger().logger, now: clock.now });
    const event: AlertEvent = { id: 'evt-retry', kind: 'anomaly', at: new Date(clock.now()).toISOString(), tenantId: 'acme' };
    sender.enqueue(event);
    await sender.flush();

    expect(hook.received).toHaveLength(2);
    const [first, second] = hook.received as [Received, Received];
    expect(second.body).toBe(first.body);
    expect(second.headers['x-gateway-event-id']).toBe('evt-retry');
    const t1 = parseHeader(signatureOf(first)).t;
    const t2 = parseHeader(signatureOf(second)).t;
    expect(t1).toBe(Date.UTC(2030, 0, 1, 12, 0, 0) / 1000);
    expect(t2).toBe(t1 + 600);
    expect(signatureOf(second)).not.toBe(signatureOf(first));
    // Each verifies when it arrives; the first one's signature would have expired by the retry.
    expect(checkSignature(second.body, signatureOf(second), SECRET, { now: t2 * 1000 })).toBe('valid');
    expect(checkSignature(first.body, signatureOf(first), SECRET, { now: t1 * 1000 })).toBe('valid');
    expect(checkSignature(first.body, signatureOf(first), SECRET, { now: t2 * 1000 })).toBe('expired');
    expect(sender.stats()).toMatchObject({ delivered: 1, failed: 0 });
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
  const body = '{"id":"evt-1","kind":"anomaly","at":"2020-01-01T00:00:00.000Z"}';
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('rejects a body dated 2020 with its 2020 signature, and accepts the same body signed now', () => {
    const in2020 = signatureHeader(body, SECRET, Date.UTC(2020, 0, 1) / 1000);
    expect(checkSignature(body, in2020, SECRET)).toBe('expired');
    expect(verifySignature(body, in2020, SECRET)).toBe(false);
    expect(checkSignature(body, signatureHeader(body, SECRET, nowSeconds()), SECRET)).toBe('valid');
  });

  it('rejects the retired body-only sha256= header, however fresh', () => {
    const bodyOnly = `sha256=${createHmac('sha256', SECRET).update(body, 'utf8').digest('hex')}`;
    expect(verifySignature(body, bodyOnly, SECRET)).toBe(false);
    expect(checkSignature(body, bodyOnly, SECRET)).toBe('malformed');
  });

  it('accepts several v1 entries (one per secret while rotating) when any one matches', () => {
    const t = nowSeconds();
    const v1Of = (secret: string) => parseHeader(signatureHeader(body, secret, t)).v1;
    const both = `t=${t},v1=${v1Of('old secret')},v1=${v1Of('new secret')}`;
    expect(checkSignature(body, both, 'old secret')).toBe('valid');
    expect(checkSignature(body, both, 'new secret')).toBe('valid');
    expect(checkSignature(body, both, 'third secret')).toBe('mismatch');
    // Unknown schemes ride along without harm; upper-case hex is the same signature.
    expect(checkSignature(body, `${both},v0=whatever`, 'new secret')).toBe('valid');
    expect(checkSignature(body, `t=${t},v1=${v1Of(SECRET).toUpperCase()}`, SECRET)).toBe('valid');
  });

  it('says malformed for headers it cannot read', () => {
    const t = nowSeconds();
    const valid = signatureHeader(body, SECRET, t);
    const { v1 } = parseHeader(valid);
    const malformed = [
      undefined,
      '',
      'garbage',
      `v1=${v1}`,
      `t=${t}`,
      `t=,v1=${v1}`,
      `t=abc,v1=${v1}`,
      `t=-${t},v1=${v1}`,
      `t=${t}.5,v1=${v1}`,
      `t=1234567890123,v1=${v1}`,
      `t=${t},t=${t},v1=${v1}`,
      `t=${t},v1=${v1.slice(0, -2)}`,
      `t=${t},v1=${v1}00`,
      `t=${t},v1=${'z'.repeat(64)}`,
      `${valid},`,
      `${valid},v1=${'0'.repeat(64)}`.padEnd(5000, ' '),
    ];
    for (const header of malformed) expect(checkSignature(body, header, SECRET), String(header)).toBe('malformed');
  });

  it('refuses a negative tolerance', () => {
    expect(() => checkSignature(body, signatureHeader(body, SECRET, nowSeconds()), SECRET, { toleranceSeconds: -1 })).toThrow(
      'toleranceSeconds must be a non-negative number: -1',
    );
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
