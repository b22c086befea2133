import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import type { RecordStore } from '../../src/record/record-store.js';
import { createPlanReplay } from '../../src/replay/plan-replay.js';
import { parseConfig } from '../../src/config/load.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const REPLAY = `query Replay($from: String!, $to: String!, $plans: [PlanProposalInput!]!) {
  planReplay(from: $from, to: $to, plans: $plans) {
    records maxRecords truncated changed tenantCount
    tenants { tenantId plans requests refused liveRefused firstRefusalAt refusedBy { policy count } limits { policy limit peak headroom } }
  }
}`;

describe('What if: replay against a proposed plan, on the gateway and in the console', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let from: string;

  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (c) => {
        c.record = { enabled: true, flushIntervalMs: 100 };
      },
    });
    from = new Date(Date.now() - 1000).toISOString();
    // acme (Free: 100 requests per minute) sends 30, globex (Pro) 12: nothing refused live.
    for (let i = 0; i < 30; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);
    for (let i = 0; i < 12; i++) expect((await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('answers platform admins with who the proposal refuses, and refuses everyone else', async () => {
    const to = new Date(Date.now() + 1000).toISOString();
    const answer = await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, { from, to, plans: [{ plan: 'free', requestsPerMinute: 10 }] });
    expect(answer.body.errors).toBeUndefined();
    const replay = (answer.body.data as { planReplay: any }).planReplay;
    expect(replay).toMatchObject({ records: 42, maxRecords: 500_000, truncated: false, changed: 20, tenantCount: 2 });
    expect(replay.tenants[0]).toMatchObject({
      tenantId: 'acme',
      plans: ['free'],
      requests: 30,
      refused: 20,
      liveRefused: 0,
      refusedBy: [{ policy: 'minute', count: 20 }],
    });
    expect(replay.tenants[0].limits[0]).toEqual({ policy: 'minute', limit: 10, peak: 10, headroom: 0 });
    expect(replay.tenants[1]).toMatchObject({ tenantId: 'globex', requests: 12, refused: 0, firstRefusalAt: null });

    const tenant = await gateway.gql(DEMO_TOKENS.acmeAdmin, REPLAY, { from, to, plans: [{ plan: 'free' }] });
    expect(tenant.body.errors?.[0]).toMatchObject({
      message: 'Replay against a proposed plan is for platform-admin keys only.',
      extensions: { code: 'FORBIDDEN' },
    });
    const bad = await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, { from, to, plans: [{ plan: 'gold' }] });
    expect(bad.body.errors?.[0]).toMatchObject({
      message: 'the proposal names plan "gold", which the config does not have (plans: free, pro, enterprise)',
      extensions: { code: 'BAD_USER_INPUT', argument: 'plans' },
    });
    const unlimited = await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, { from, to, plans: [{ plan: 'free', unlimited: ['burst'] }] });
    expect(unlimited.body.errors?.[0]?.message).toBe(
      'free.unlimited names no limit: "burst" (one of requestsPerMinute, requestsPerDay, requestsPerMonth, costPerMinute, maxOperationCost, responseBytesPerHour, perIpPerMinute, perClientShare)',
    );
    const week = await gateway.gql(DEMO_TOKENS.platformAdmin, REPLAY, { from: '2026-11-01T00:00:00Z', to: '2026-11-10T00:00:00Z', plans: [{ plan: 'free' }] });
    expect(week.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'to' } });
    expect(week.body.errors?.[0]?.message).toBe("the period may span at most 8 days (the record's retention): 2026-11-01T00:00:00Z .. 2026-11-10T00:00:00Z");
  });

  it('shows the report in the console after editing a plan', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.platformAdmin);
    await page.waitForURL(/#\/fleet$/);
    await page.getByRole('link', { name: 'What if' }).click();
    await page.waitForURL(/#\/fleet\/what-if$/);
    await page.getByLabel('Plan', { exact: true }).selectOption('free');
    expect(await page.getByLabel('Requests per minute', { exact: true }).inputValue()).toBe('100');
    await page.getByLabel('Requests per minute', { exact: true }).fill('10');
    await page.getByLabel('Period').selectOption('15m');
    await page.getByRole('button', { name: 'Replay' }).click();
    const acme = page.locator('[data-testid="replay-tenants"] tr[data-tenant="acme"]');
    await acme.waitFor();
    // 31 by now: acme's refused planReplay above was a request its plan counted too.
    expect(await acme.locator('[data-col="refused"]').textContent()).toBe('21 (67.7%)');
    expect(await acme.locator('[data-col="refused-by"]').textContent()).toBe('minute 21');
    expect(await acme.locator('[data-col="limits"]').textContent()).toContain('minute: 10 / 10 (no headroom)');
    expect(await page.getByTestId('replay-summary').textContent()).toContain('1 of 2 tenants would be refused');
    await screenshot(page, 'what-if');
    expect(problems).toEqual([]);
  });
});

describe('planReplay bounds', () => {
  const config = parseConfig('plans: { free: { displayName: Free } }\ntenants: { acme: { displayName: Acme, plan: free } }', 't.yaml', {});

  it('runs one replay at a time per instance', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store: RecordStore = {
      append: async () => {},
      blocks: async () => {
        await gate;
        return [];
      },
    };
    const replay = createPlanReplay({ store, config: () => config });
    const input = { from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:01:00Z', plans: [{ plan: 'free', limits: {}, unlimited: [] }] };
    const first = replay.run(input);
    await expect(replay.run(input)).rejects.toMatchObject({ extensions: { code: 'REPLAY_IN_PROGRESS' } });
    release();
    await expect(first).resolves.toMatchObject({ records: 0, truncated: false });
    await expect(replay.run(input)).resolves.toMatchObject({ records: 0 });
  });

  it('says when the record is off', async () => {
    const replay = createPlanReplay({ store: null, config: () => config });
    await expect(replay.run({ from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:01:00Z', plans: [] })).rejects.toThrow(
      'The request record is off on this gateway (config record.enabled): there is nothing to replay.',
    );
  });
});
