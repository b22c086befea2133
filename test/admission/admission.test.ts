import { describe, expect, it } from 'vitest';
import { createAdmission, type AdmissionOptions, type AdmissionOutcome, type AdmissionRequest } from '../../src/admission/admission.js';
import { priorityOf } from '../../src/admission/priority-class.js';

/** Fair admission on one instance (src/admission/admission.ts): the tenant's own share, then the fair queue. */
function setup(overrides: Partial<Omit<AdmissionOptions, 'limit'>> & { limit?: number } = {}) {
  let limit = overrides.limit ?? 100;
  const { limit: _initial, ...rest } = overrides;
  const admission = createAdmission({
    maxQueue: 100,
    maxQueuePerTenant: 10,
    maxWaitMs: 5000,
    criticalReservePercent: 20,
    agePerClassMs: 1000,
    ...rest,
    limit: () => limit,
  });
  return { admission, setLimit: (n: number) => (limit = n) };
}
const req = (tenantId: string, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  tenantId,
  weight: 1,
  tenantMaxInFlight: 100,
  priority: 'normal',
  ...extra,
});
type Admitted = Extract<AdmissionOutcome, { admitted: true }>;

/** Enters and records when each outcome settles. */
function track(admission: ReturnType<typeof setup>['admission'], request: AdmissionRequest, log: string[], name: string) {
  const entry = admission.enter(request);
  const result = entry.outcome.then((outcome) => {
    log.push(`${name}:${outcome.admitted ? 'in' : outcome.reason}`);
    return outcome;
  });
  return { ...entry, result };
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('fair admission', () => {
  it("runs at most a tenant's own maxInFlight at once; the next waits for one of its own to finish", async () => {
    const { admission } = setup();
    const log: string[] = [];
    const a = [1, 2, 3].map((i) => track(admission, req('flood', { tenantMaxInFlight: 2 }), log, `a${i}`));
    const b = track(admission, req('steady', { tenantMaxInFlight: 2 }), log, 'b');
    await tick();
    expect(log).toEqual(['a1:in', 'a2:in', 'b:in']);
    ((await a[0]!.result) as Admitted).release();
    await tick();
    expect(log).toEqual(['a1:in', 'a2:in', 'b:in', 'a3:in']);
    expect(admission.state()).toMatchObject({ inFlight: 3, tenantsWaiting: 0 });
    void b;
  });

  it('refuses a tenant past its own queue (over its own share) at once, and one that waited past maxWaitMs', async () => {
    const { admission } = setup({ maxQueuePerTenant: 1, maxWaitMs: 50 });
    const log: string[] = [];
    track(admission, req('flood', { tenantMaxInFlight: 1 }), log, 'a1');
    const waiting = track(admission, req('flood', { tenantMaxInFlight: 1 }), log, 'a2');
    const refused = await track(admission, req('flood', { tenantMaxInFlight: 1 }), log, 'a3').result;
    expect(refused).toMatchObject({ admitted: false, reason: 'tenant_queue_full', overOwnShare: true, retryAfterSeconds: 1 });
    expect(await waiting.result).toMatchObject({ admitted: false, reason: 'tenant_wait', overOwnShare: true });
    expect(log).toEqual(['a1:in', 'a3:tenant_queue_full', 'a2:tenant_wait']);
  });

  it('serves waiting tenants by weight when the instance is saturated, not in arrival order', async () => {
    const { admission } = setup({ limit: 1 });
    const admitted: { name: string; outcome: Admitted }[] = [];
    const enter = (request: AdmissionRequest, name: string) =>
      admission.enter(request).outcome.then((outcome) => {
        if (outcome.admitted) admitted.push({ name, outcome });
      });
    void enter(req('x'), 'x');
    // Light (weight 1) queues six before heavy (weight 4) queues six.
    for (let i = 0; i < 6; i++) void enter(req('light'), 'L');
    for (let i = 0; i < 6; i++) void enter(req('heavy', { weight: 4 }), 'H');
    await tick();
    for (let i = 0; i < 10; i++) {
      admitted[i]!.outcome.release(); // one slot frees: the queue picks who runs next
      await tick();
    }
    const order = admitted
      .slice(1, 11)
      .map((a) => a.name)
      .join('');
    // Heavy came after all of light's, yet gets four of every five slots while both wait.
    expect(
      order
        .slice(0, 5)
        .split('')
        .filter((n) => n === 'H'),
    ).toHaveLength(4);
    expect(order).toHaveLength(10);
  });

  it('keeps the critical reserve: normal requests never take the last slots, critical ones do', async () => {
    const { admission } = setup({ limit: 5, criticalReservePercent: 20 });
    const log: string[] = [];
    for (let i = 0; i < 5; i++) track(admission, req(`t${i}`), log, `n${i}`);
    await tick();
    expect(log).toEqual(['n0:in', 'n1:in', 'n2:in', 'n3:in']);
    track(admission, req('checkout', { priority: 'critical' }), log, 'c');
    await tick();
    expect(log).toEqual(['n0:in', 'n1:in', 'n2:in', 'n3:in', 'c:in']);
  });

  it('gives the place back when the client leaves while waiting, and the tenant slot on release', async () => {
    const { admission } = setup();
    const log: string[] = [];
    const first = track(admission, req('t', { tenantMaxInFlight: 1 }), log, 'a');
    const gone = track(admission, req('t', { tenantMaxInFlight: 1 }), log, 'b');
    const next = track(admission, req('t', { tenantMaxInFlight: 1 }), log, 'c');
    await tick();
    gone.cancel();
    ((await first.result) as Admitted).release();
    await tick();
    expect(log).toEqual(['a:in', 'c:in']);
    ((await next.result) as Admitted).release();
    expect(admission.state()).toMatchObject({ inFlight: 0, queued: 0, tenantsWaiting: 0 });
  });
});

describe('fair admission at once (admitAtOnce)', () => {
  it('admits without a promise while the tenant is under its cap and the instance has room, as enter would', async () => {
    const { admission, setLimit } = setup({ limit: 3 });
    const a1 = admission.admitAtOnce(req('a', { tenantMaxInFlight: 2 }));
    const a2 = admission.admitAtOnce(req('a', { tenantMaxInFlight: 2 }));
    expect(a1).toMatchObject({ admitted: true, waitedMs: 0 });
    expect(a2).toMatchObject({ admitted: true, waitedMs: 0 });
    // The tenant is at its own cap: not at once, and nothing changed; enter queues it in the tenant's own queue.
    expect(admission.admitAtOnce(req('a', { tenantMaxInFlight: 2 }))).toBeUndefined();
    expect(admission.state()).toMatchObject({ inFlight: 2, tenantsWaiting: 0 });
    const log: string[] = [];
    const a3 = track(admission, req('a', { tenantMaxInFlight: 2 }), log, 'a3');
    await tick();
    expect(admission.state()).toMatchObject({ inFlight: 2, tenantsWaiting: 1 });
    // Its slot passes to the waiting request of the same tenant; a second release changes nothing.
    a1!.release();
    a1!.release();
    await tick();
    expect(log).toEqual(['a3:in']);
    expect(admission.state()).toMatchObject({ inFlight: 2, tenantsWaiting: 0 });
    // The instance is saturated and another tenant waits for it: a newcomer is not admitted past it.
    setLimit(2);
    const b = track(admission, req('b'), log, 'b');
    setLimit(3);
    expect(admission.admitAtOnce(req('c'))).toBeUndefined();
    a2!.release();
    ((await a3.result) as Admitted).release();
    await tick();
    expect(log).toEqual(['a3:in', 'b:in']);
    ((await b.result) as Admitted).release();
    expect(admission.state()).toMatchObject({ inFlight: 0, queued: 0, tenantsWaiting: 0 });
  });

  it('never admits at once a tenant whose cap is 0', () => {
    const { admission } = setup();
    expect(admission.admitAtOnce(req('a', { tenantMaxInFlight: 0 }))).toBeUndefined();
    expect(admission.state()).toMatchObject({ inFlight: 0 });
  });
});

describe('priority classes', () => {
  const rules = [
    { class: 'critical' as const, rootFields: ['Mutation.placeOrder'] },
    { class: 'batch' as const, operationNames: ['Export*'] },
    { class: 'batch' as const, keys: ['acme-exporter'] },
  ];
  it('match by root field, operation name prefix or key, first rule first; normal otherwise', () => {
    expect(priorityOf(rules, { clientId: 'k', operationName: 'Checkout', rootFields: ['Mutation.placeOrder'] })).toBe('critical');
    expect(priorityOf(rules, { clientId: 'k', operationName: 'ExportOrders', rootFields: null })).toBe('batch');
    expect(priorityOf(rules, { clientId: 'acme-exporter', operationName: null, rootFields: null })).toBe('batch');
    expect(priorityOf(rules, { clientId: 'k', operationName: 'Dashboard', rootFields: ['Query.dashboard'] })).toBe('normal');
  });
});
