import type { TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { MINUTE_BUCKETS, type LimitDimension } from './dimensions.js';
import { memoDimensions } from './dimensions-memo.js';
import { effectiveLimits, type EffectiveLimits } from './effective-limits.js';
import type { RuntimeOverride } from './overrides.js';
import type { Dimension } from './store/types.js';

/** What one GraphQL request is charged, from what is known of it once its operation is resolved. */
export interface RequestCharge {
  effective: EffectiveLimits;
  /** Cost points charged (0 when the operation is free). */
  chargedCost: number;
  /** Every dimension the one limit check covers; empty: no limit applies. Shared between requests: read-only. */
  dims: LimitDimension[];
  /** `dims`' store dimensions, what the limiter is asked (the same array for equal requests: its charge key is kept). */
  stores: Dimension[];
  /**
   * Set when the estimate exceeds the single-operation maximum (the plan's, or for the free usage
   * operations `limits.usageMaxOperationCost`): refused, nothing charged.
   */
  overMaximum: { estimate: number; maximum: number; of: 'plan' | 'usage' } | null;
}

export interface ChargeInput {
  config: Config;
  principal: TenantPrincipal;
  runtime: RuntimeOverride | undefined;
  ip: string;
  rootFields: string[];
  /** Only `usage` / `rateLimit`: free, under their own cap. */
  usageOnly: boolean;
  /** Priced, not executed (a cost dry run, `rateLimit(dryRun: true)`): no cost points and no maximum. */
  pricedOnly: boolean;
  /** The cost estimate of the operation with its variables. */
  estimate: number;
  now: number;
}

/**
 * The one place that turns a request into limit dimensions: the limit gate uses it when the
 * operation is resolved, and the check at the door (early-check.ts) with the same inputs before,
 * so that the two agree by construction and a disagreement can only come from inputs that
 * changed in between (a runtime override, the clock crossing a calendar period).
 */
export function requestCharge(input: ChargeInput): RequestCharge {
  const { config, principal, now } = input;
  const effective = effectiveLimits(config, principal.tenantId, input.runtime, now);
  // Usage operations are free, not unbounded: they answer to their own maximum, whatever the plan.
  const maximum = input.usageOnly ? config.limits.usageMaxOperationCost : effective.limits.maxOperationCost;
  if (!input.pricedOnly && typeof maximum === 'number' && input.estimate > maximum) {
    return { effective, chargedCost: 0, dims: [], stores: [], overMaximum: { estimate: input.estimate, maximum, of: input.usageOnly ? 'usage' : 'plan' } };
  }
  const chargedCost = input.pricedOnly || input.usageOnly ? 0 : Math.ceil(input.estimate);
  if (input.usageOnly) {
    const dims = [usageCap(principal.tenantId, config.limits.usageQueriesPerMinute)];
    return { effective, chargedCost, dims, stores: dims.map((d) => d.store), overMaximum: null };
  }
  const { dims, stores } = memoDimensions({
    tenantId: principal.tenantId,
    clientId: principal.clientId,
    ip: input.ip,
    limits: effective.limits,
    timeZone: effective.timeZone,
    rootFields: input.rootFields,
    cost: chargedCost,
    now,
    ...keyPerIp(principal),
  });
  return { effective, chargedCost, dims, stores, overMaximum: null };
}

/** A publishable key's per-address limit, for `buildDimensions`. */
export function keyPerIp(principal: TenantPrincipal): { keyPerIpPerMinute?: number } {
  return principal.kind === 'apiKey' && principal.publishable ? { keyPerIpPerMinute: principal.publishable.perIpPerMinute } : {};
}

/** The abuse cap of the free usage queries (and /usage.csv): generous, per tenant, separate from the plan. */
export function usageCap(tenantId: string, perMinute: number): LimitDimension {
  return {
    store: { kind: 'sliding', name: 'usage-minute', key: `rl:{${tenantId}}:usage:m`, limit: perMinute, windowMs: 60_000, buckets: MINUTE_BUCKETS, amount: 1 },
    kind: 'requests',
    policy: 'usage-minute',
    window: '1 minute',
    windowSeconds: 60,
    countsRequests: true,
  };
}

/**
 * What a request is charged when nothing is known of its operation (it never reached the limit
 * decision, or only its headers are wanted): one request on every request count, no cost
 * points, no per-field limit; cost and bytes are only checked.
 */
export function requestOnlyCharge(input: Pick<ChargeInput, 'config' | 'principal' | 'runtime' | 'ip'>): RequestCharge {
  // Fields named one by one: spreading `input` here measured about 10 µs of CPU per call (V8
  // copies it through its slow path), on every response no limit decision gave headers to.
  return requestCharge({
    config: input.config,
    principal: input.principal,
    runtime: input.runtime,
    ip: input.ip,
    rootFields: NO_ROOT_FIELDS,
    usageOnly: false,
    pricedOnly: true,
    estimate: 0,
    now: Date.now(),
  });
}

/** Nothing is known of the operation: no root field (shared, never changed). */
const NO_ROOT_FIELDS: string[] = Object.freeze([]) as unknown as string[];
