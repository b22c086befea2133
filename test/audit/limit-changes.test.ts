import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryAuditLog, createRedisAuditLog, type AuditLog, type LimitChange } from '../../src/audit/limit-changes.js';
import { useTestRedis } from '../support/redis-server.js';

/** The audit trail's paging, retention and once-only entries, on the in-memory and the Redis store alike. */
const redis = useTestRedis();
const DAY = 24 * 3600 * 1000;
let policy = { retentionDays: 90, maxEntries: 10_000 };

const change = (tenantId: string, at: number, action: LimitChange['action'] = 'set'): LimitChange => ({
  at,
  by: 'platform-ops',
  tenantId,
  action,
  planId: 'pro',
  limits: {},
  expiresAt: null,
  source: 'admin',
  before: 'free (config)',
  after: 'pro (override)',
});

const stores: [string, () => AuditLog][] = [
  ['memory', () => createMemoryAuditLog(() => policy)],
  ['redis', () => createRedisAuditLog(redis.client, () => policy)],
];

describe.each(stores)('audit log (%s)', (_name, make) => {
  beforeEach(async () => {
    policy = { retentionDays: 90, maxEntries: 10_000 };
    await redis.client.flushall();
  });

  it('pages newest first, filtered by tenant, with a cursor that continues where the page ended', async () => {
    const log = make();
    const now = Date.now();
    for (let i = 0; i < 5; i++) await log.record(change(i % 2 === 0 ? 'acme' : 'globex', now + i));
    const first = await log.page({ tenantId: 'acme', first: 2 });
    expect(first.entries.map((e) => e.at)).toEqual([now + 4, now + 2]);
    expect(first.hasNextPage).toBe(true);
    const second = await log.page({ tenantId: 'acme', first: 2, after: first.endCursor! });
    expect(second).toMatchObject({ hasNextPage: false });
    expect(second.entries.map((e) => e.at)).toEqual([now]);
    expect((await log.page({ first: 10 })).entries).toHaveLength(5);
  });

  it('drops entries past their retention and beyond maxEntries', async () => {
    const log = make();
    const now = Date.now();
    await log.record(change('acme', now - 10 * DAY));
    await log.record(change('acme', now - 2 * DAY));
    policy = { retentionDays: 5, maxEntries: 2 };
    await log.record(change('acme', now - DAY));
    await log.record(change('acme', now));
    expect((await log.page({ first: 10 })).entries.map((e) => e.at)).toEqual([now, now - DAY]);
  });

  it('records a change every instance notices once, by key', async () => {
    const [a, b] = [make(), make()];
    const now = Date.now();
    await a.recordOnce('expiry:acme:1', change('acme', now, 'expired'));
    await b.recordOnce('expiry:acme:1', change('acme', now, 'expired'));
    // Two memory logs are two processes without Redis: each has its own trail.
    expect((await a.page({ first: 10 })).entries).toHaveLength(1);
  });
});
