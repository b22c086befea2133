import { describe, expect, it } from 'vitest';
import type { TenantPrincipal } from '../../src/auth/principal.js';
import { buildDimensions } from '../../src/limits/dimensions.js';
import { createLocalRefusals, type LocalRefusal, type LocalRefusals } from '../../src/limits/local-refusals.js';
import type { DecisionSource } from '../../src/limits/limiter.js';
import type { DimensionResult, LimitDecision } from '../../src/limits/store/types.js';

/** Refusals answered from memory (limits/local-refusals.ts): only where the store's refusal applies, and never past its end. */
const key = (clientId: string): TenantPrincipal => ({ kind: 'apiKey', clientId, tenantId: 'acme', planId: 'free', role: 'viewer' });
const A = key('a');
const B = key('b');
const plan = { planId: 'free', planName: 'Free' };
const dims = (clientId: string, ip: string) =>
  buildDimensions({
    tenantId: 'acme',
    clientId,
    ip,
    limits: {
      requestsPerMinute: 100,
      requestsPerDay: 1000,
      perClientShare: 0.5,
      perIpPerMinute: 30,
      costPerMinute: 1000,
      fieldLimits: { 'Mutation.placeOrder': { limit: 2, windowSeconds: 60 } },
    },
    timeZone: 'UTC',
    rootFields: ['Mutation.placeOrder'],
    cost: 10,
    now: 0,
  });

/** A decision refusing exactly the policies named, each with `retryAfterMs`. */
function refusing(all: ReturnType<typeof dims>, refused: Record<string, number>): LimitDecision {
  const results: DimensionResult[] = all.map((d) => {
    const retry = refused[d.policy];
    return {
      name: d.policy,
      limit: d.store.limit,
      used: d.store.limit,
      remaining: retry === undefined ? 5 : 0,
      resetAt: 1_000 + (retry ?? 0),
      retryAfterMs: retry ?? 0,
      allowed: retry === undefined,
    };
  });
  return { allowed: false, now: 1_000, results } as LimitDecision;
}

/** The 429 body's error extensions (the body is prebuilt JSON). */
const extensionsOf = (refusal: LocalRefusal | null): Record<string, unknown> => (refusal ? JSON.parse(refusal.body).errors[0].extensions : {});

/** What the store refused `principal` on: `refused` maps policies to their Retry-After, ms. */
function remember(
  refusals: LocalRefusals,
  principal: TenantPrincipal,
  ip: string,
  all: ReturnType<typeof dims>,
  refused: Record<string, number>,
  source: DecisionSource = 'shared',
) {
  refusals.remember({ principal, ip, plan, documentationUrl: '/docs', source, dims: all, decision: refusing(all, refused) });
}

function setup(maxMs = 10_000) {
  let now = 0;
  const refusals = createLocalRefusals({ maxMs, now: () => now });
  return { refusals, at: (t: number) => (now = t) };
}

describe('local refusals', () => {
  it('end where a plan with a burst zone would hold the next request instead: its wait within maxDelayMs', () => {
    const { refusals, at } = setup();
    const all = buildDimensions({
      tenantId: 'acme',
      clientId: 'a',
      ip: '1.1.1.1',
      limits: { requestsPerMinute: 100, burst: { requests: 20, maxDelayMs: 3_000 } },
      timeZone: 'UTC',
      rootFields: [],
      cost: 1,
      now: 0,
    });
    // Refused with 5 s to wait: from 2 s on the wait is within 3 s, and the store would hold it.
    remember(refusals, A, '1.1.1.1', all, { minute: 5_000 });
    at(1_999);
    expect(refusals.find(A, '1.1.1.1')).not.toBeNull();
    at(2_000);
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it("past a burst zone's count (its wait already within maxDelayMs), until the refusal's own Retry-After", () => {
    const { refusals, at } = setup();
    const all = buildDimensions({
      tenantId: 'acme',
      clientId: 'a',
      ip: '1.1.1.1',
      limits: { requestsPerMinute: 100, burst: { requests: 20, maxDelayMs: 3_000 } },
      timeZone: 'UTC',
      rootFields: [],
      cost: 1,
      now: 0,
    });
    // The store refused with 2.5 s to wait: every request it could hold is held already. A retry
    // loop is answered from memory until then, not by one store call per request.
    remember(refusals, A, '1.1.1.1', all, { minute: 2_500 });
    at(2_499);
    expect(refusals.find(A, '1.1.1.1')).not.toBeNull();
    at(2_500);
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it("refuse every request of the tenant until the store's Retry-After, not a moment longer", () => {
    const { refusals, at } = setup();
    const all = dims('a', '1.1.1.1');
    remember(refusals, A, '1.1.1.1', all, { minute: 4_000 });
    at(3_999);
    const refusal = refusals.find(B, '2.2.2.2');
    expect(extensionsOf(refusal)).toMatchObject({ code: 'RATE_LIMITED', policy: 'minute', retryAfterSeconds: 1 });
    expect(refusal?.headers['x-ratelimit-remaining']).toBe('0');
    expect(refusal?.headers['retry-after']).toBe('1');
    expect(refusal?.remainingMs).toBe(1);
    at(4_000);
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it('never for another key, another address, cost points or a per-field limit', () => {
    const { refusals } = setup();
    const all = dims('a', '1.1.1.1');
    remember(refusals, A, '1.1.1.1', all, { 'client-minute': 5_000 });
    expect(extensionsOf(refusals.find(A, '9.9.9.9')).policy).toBe('client-minute');
    expect(refusals.find(B, '1.1.1.1')).toBeNull();
    const other = setup();
    remember(other.refusals, A, '1.1.1.1', all, { 'ip-minute': 5_000 });
    expect(extensionsOf(other.refusals.find(B, '1.1.1.1')).policy).toBe('ip-minute');
    expect(other.refusals.find(A, '2.2.2.2')).toBeNull();
    const cheaper = setup();
    remember(cheaper.refusals, A, '1.1.1.1', all, { 'cost-minute': 5_000, 'Mutation.placeOrder': 5_000 });
    expect(cheaper.refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it('hold a refusal at most maxMs, while telling the client the full wait', () => {
    const { refusals, at } = setup(2_000);
    const all = dims('a', '1.1.1.1');
    remember(refusals, A, '1.1.1.1', all, { day: 3_600_000 });
    at(1_000);
    expect(extensionsOf(refusals.find(A, '1.1.1.1')).retryAfterSeconds).toBe(3599);
    at(2_000);
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it("never repeat the local fallback's refusals (an instance's share while Redis is away)", () => {
    const { refusals } = setup();
    const all = dims('a', '1.1.1.1');
    remember(refusals, A, '1.1.1.1', all, { minute: 4_000 }, 'local');
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });

  it('forget everything when limits change', () => {
    const { refusals } = setup();
    const all = dims('a', '1.1.1.1');
    remember(refusals, A, '1.1.1.1', all, { minute: 4_000 });
    refusals.clear();
    expect(refusals.find(A, '1.1.1.1')).toBeNull();
  });
});
