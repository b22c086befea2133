import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionOutcome } from '../../src/admission/admission.js';
import { createAdmissionNow } from '../../src/admission/admission-now.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const admitted = (waitedMs: number): AdmissionOutcome => ({ admitted: true, waitedMs, release: () => {} });
const refused = (overOwnShare: boolean): AdmissionOutcome => ({
  admitted: false,
  reason: overOwnShare ? 'tenant_queue_full' : 'queue_full',
  overOwnShare,
  waitedMs: 0,
  retryAfterSeconds: 1,
});

describe('admission now: who was queued, shed or refused in the last minute', () => {
  it('counts per tenant, plan and priority, most shed and refused first, and forgets after a minute', () => {
    let now = Date.UTC(2026, 11, 5, 12, 0, 0);
    const recent = createAdmissionNow({ now: () => now });
    const acme = { tenantId: 'acme', planId: 'free', priority: 'normal' as const };
    const initech = { tenantId: 'initech', planId: 'enterprise', priority: 'critical' as const };
    // Admitted at once: nothing to show (and nothing kept).
    for (let i = 0; i < 100; i++) recent.record({ ...initech, outcome: admitted(0) });
    expect(recent.snapshot()).toEqual([]);
    recent.record({ ...initech, outcome: admitted(12) });
    recent.record({ ...initech, outcome: admitted(40) });
    recent.record({ ...acme, outcome: refused(true) });
    recent.record({ ...acme, outcome: refused(false) });
    now += 30_000;
    recent.record({ ...acme, outcome: refused(true) });
    expect(recent.snapshot()).toEqual([
      { ...acme, queued: 0, maxWaitMs: 0, shed: 1, refused: 2 },
      { ...initech, queued: 2, maxWaitMs: 40, shed: 0, refused: 0 },
    ]);
    // A minute later the first slice is gone; the later refusal stays until its own minute ends.
    now += 35_000;
    expect(recent.snapshot()).toEqual([{ ...acme, queued: 0, maxWaitMs: 0, shed: 0, refused: 1 }]);
    now += 30_000;
    expect(recent.snapshot()).toEqual([]);
  });
});

describe('the platform console sees who is queued and refused on the instance', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      patch: (config) => {
        config.plans.enterprise.admission = { weight: 16, maxInFlight: 2 };
        config.admission = { ...config.admission, maxQueuePerTenant: 4 };
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('lists the flooding tenant with its plan, priority, waits and refusals', async () => {
    const QUERY = '{ customers(first: 5) { nodes { name orders(first: 2) { id } } } }';
    const answers = await Promise.all(Array.from({ length: 30 }, () => gateway.gql(DEMO_TOKENS.initechAdmin, QUERY)));
    const waited = answers.filter((r) => r.status === 200 && /^admission;dur=/.test(r.headers.get('server-timing') ?? '')).length;
    const overShare = answers.filter((r) => r.status === 429).length;
    expect(overShare).toBeGreaterThan(0);

    const { body } = await gateway.gql(
      DEMO_TOKENS.platformAdmin,
      '{ fleetUsage { health { admission { inFlight limit queued tenantsWaiting recent { tenantId tenantName plan planName priority queued maxWaitMs shed refused } } } } }',
    );
    expect(body.errors).toBeUndefined();
    const admission = body.data.fleetUsage.health.admission;
    expect(admission).toMatchObject({ inFlight: 0, queued: 0, tenantsWaiting: 0 });
    expect(admission.recent).toEqual([
      {
        tenantId: 'initech',
        tenantName: 'Initech',
        plan: 'enterprise',
        planName: 'Enterprise',
        priority: 'normal',
        queued: waited,
        maxWaitMs: expect.any(Number),
        shed: 0,
        refused: overShare,
      },
    ]);
  });

  it('is for platform admins only', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.initechAdmin, '{ fleetUsage { health { admission { inFlight } } } }');
    expect(body.errors?.[0]?.message).toBe('fleetUsage is for platform-admin keys only.');
  });
});
