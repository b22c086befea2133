import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/events.js';
import { verifySignature } from '../../src/alerts/verify.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { captureLogger } from '../alerts/capture.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const SECRET = 'whsec_reload_0123456789';
const limits = (config: Record<string, any>) => {
  config.plans.free.limits.requestsPerMinute = 5;
  config.reload = { settleMs: 200 };
};

let gateway: TestGateway;
let hook: Server;
let hookUrl: string;
const received: { body: string; signature: string }[] = [];
const log = captureLogger();

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-gateway-signature']) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  gateway = await startTestGateway({ configPollIntervalMs: 100, logger: log.logger, patch: limits });
});
afterAll(async () => {
  await gateway.close();
  await new Promise((resolve) => hook.close(resolve));
});

describe('settings a config reload applies', () => {
  it('sends alerts to a webhook URL added by a reload, and keeps a changed body limit (restart-only) at its running value, saying so', async () => {
    expect(gateway.config.current().alerts.webhookUrl).toBeUndefined();
    await gateway.writeConfig((config) => {
      limits(config);
      config.alerts = { webhookUrl: hookUrl, webhookSecret: SECRET };
      config.server.bodyLimitBytes = 100;
    });
    expect(await eventually(() => gateway.config.current().alerts.webhookUrl === hookUrl)).toBe(true);

    const reloaded = log.lines.find((l) => l.msg === 'configuration reloaded');
    expect(reloaded?.applied).toEqual(['alerts.webhookUrl', 'alerts.webhookSecret']);
    const restart = log.lines.find((l) => Array.isArray(l.needsRestart));
    expect(restart).toMatchObject({ level: 40, needsRestart: ['server.bodyLimitBytes'] });
    expect(gateway.config.current().server.bodyLimitBytes).toBe(1024 * 1024);
    // The running body limit really is still 1 MiB: a 1 KiB body is served, not refused with 413.
    const padded = await gateway.gql(DEMO_TOKENS.globexAdmin, `{ viewer { clientId } } ${'#'.repeat(1024)}`);
    expect(padded.status).toBe(200);

    // 4 of acme's 5 requests per minute cross 80%: one alert, delivered to the new webhook.
    for (let i = 0; i < 4; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);
    expect(await eventually(() => received.length > 0)).toBe(true);
    const event = JSON.parse(received[0]!.body) as AlertEvent;
    expect(event).toMatchObject({ kind: 'limit_threshold', tenantId: 'acme', threshold: 80 });
    expect(verifySignature(received[0]!.body, received[0]!.signature, SECRET)).toBe(true);
  });
});
