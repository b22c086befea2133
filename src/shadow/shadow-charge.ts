import type { TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { buildDimensions, type LimitDimension } from '../limits/dimensions.js';
import type { EffectiveLimits } from '../limits/effective-limits.js';
import { keyPerIp } from '../limits/request-charge.js';
import type { Adjustment, ShadowCheck, ShadowVerdict } from '../limits/store/types.js';
import type { ShadowInForce } from './shadow-in-force.js';

/** How long a tenant's record of would-be refusals lives after its latest one: 30 days. */
export const SHADOW_RECORD_TTL_MS = 30 * 24 * 3600 * 1000;
/** The policy of a would-be refusal by the shadow's single-operation maximum (the enforced 400 COST_LIMIT_EXCEEDED). */
export const MAX_COST_POLICY = 'max-cost';

/** What a request carries to the limit store for its tenant's shadow. */
export interface ShadowCharge {
  inForce: ShadowInForce;
  check: ShadowCheck;
  /** The shadow's dimensions (empty when refused without a check). */
  dims: LimitDimension[];
  /** Cost points the shadow charged: refunded as the enforced ones are. */
  chargedCost: number;
}

/** The key prefix of a shadow's counters and record: the tenant's hash tag, so one script call reaches them. */
export const shadowPrefix = (tenantId: string, id: string) => `rl:{${tenantId}}:shadow:${id}`;
/** A tenant's record of would-be refusals under the shadow `id`. */
export const shadowRecordKey = (tenantId: string, id: string) => `${shadowPrefix(tenantId, id)}:refused`;

/**
 * The shadow's side of a request: the dimensions its plan would check, as the enforced plan's are
 * built (`buildDimensions`, the same inputs), on keys of the shadow's own; an estimate over the
 * shadow's single-operation maximum is a would-be refusal without a check (as the enforced 400).
 */
export function buildShadowCharge(input: {
  inForce: ShadowInForce;
  config: Config;
  principal: TenantPrincipal;
  effective: EffectiveLimits;
  ip: string;
  rootFields: string[];
  pricedOnly: boolean;
  estimate: number;
  now: number;
}): ShadowCharge | null {
  const { inForce, principal } = input;
  const { tenantId } = principal;
  const recordKey = shadowRecordKey(tenantId, inForce.id);
  const base = { recordKey, subject: principal.clientId, recordTtlMs: SHADOW_RECORD_TTL_MS };
  const maximum = inForce.limits.maxOperationCost;
  if (!input.pricedOnly && typeof maximum === 'number' && input.estimate > maximum) {
    return { inForce, check: { ...base, dimensions: [], refusedBy: MAX_COST_POLICY }, dims: [], chargedCost: 0 };
  }
  const chargedCost = input.pricedOnly ? 0 : Math.ceil(input.estimate);
  const built = buildDimensions({
    tenantId,
    clientId: principal.clientId,
    ip: input.ip,
    limits: inForce.limits,
    timeZone: input.effective.timeZone,
    rootFields: input.rootFields,
    cost: chargedCost,
    now: input.now,
    ...keyPerIp(principal),
  });
  if (built.length === 0) return null;
  const tag = `rl:{${tenantId}}`;
  const prefix = shadowPrefix(tenantId, inForce.id);
  const dims = built.map((d) => ({ ...d, store: { ...d.store, key: prefix + d.store.key.slice(tag.length) } }));
  return { inForce, check: { ...base, dimensions: dims.map((d) => d.store) }, dims, chargedCost };
}

/**
 * A settled request's adjustments on the shadow's counters, when the shadow admitted it: the
 * unused cost refunded where it was charged, the response bytes added now, as the enforced
 * plan's (limit-gate.ts) so that the shadow counts what the same plan enforced would.
 */
export function shadowSettle(
  charge: ShadowCharge,
  verdict: ShadowVerdict,
  decisionNow: number,
  actualCost: number | null,
  responseBytes: number,
): Adjustment[] {
  if (!verdict.allowed) return [];
  const adjustments: Adjustment[] = [];
  for (const dim of charge.dims) {
    if (dim.store.kind !== 'sliding') continue;
    if (dim.kind === 'cost' && actualCost !== null && Math.ceil(actualCost) < charge.chargedCost) {
      adjustments.push({ dimension: dim.store, at: decisionNow + verdict.heldMs, delta: Math.ceil(actualCost) - charge.chargedCost });
    } else if (dim.kind === 'bandwidth' && responseBytes > 0) {
      adjustments.push({ dimension: dim.store, at: decisionNow, delta: responseBytes });
    }
  }
  return adjustments;
}
