import type { TenantReplay } from '../replay/tenant-report.js';

/** A tenant is near its cost limit when a replay saw this share of it in use, 0.8. */
export const NEAR_SHARE = 0.8;

/** One side (as recorded, or with suggested sizes) of a tenant's cost limits in a replay. */
export interface CostSide {
  /** Requests refused by a cost limit: cost points per minute, or the most one operation may cost (`max-cost`). */
  costRefused: number;
  /** Requests refused by any limit. */
  refused: number;
  /** Peak cost points in use against `costPerMinute` (after its own charge when admitted); null without that limit. */
  peak: number | null;
  /** Epoch ms of the peak; null without the limit. */
  peakAt: number | null;
  /** max(0, limit − peak); null without the limit. */
  headroom: number | null;
}

/** What suggested sizes would do to one tenant near or over its cost limits. */
export interface TenantCostChange {
  tenantId: string;
  plans: string[];
  requests: number;
  /** Its requests whose estimate could not be priced again (they keep the recorded estimate). */
  notRepriced: number;
  /** The cost points per minute its plan allows (the newest, if it changed plans); null: none. */
  costPerMinute: number | null;
  /** Requests the live gateway refused by a cost limit (the record's own decisions). */
  liveCostRefused: number;
  before: CostSide;
  after: CostSide;
}

/**
 * The tenants near or over their cost limits in either replay (refused by one, or `NEAR_SHARE` of
 * `costPerMinute` in use), each as recorded and with the sizes: most cost refusals first.
 */
export function costLimitTenants(
  before: readonly TenantReplay[],
  after: readonly TenantReplay[],
  extra: ReadonlyMap<string, { notRepriced: number; liveCostRefused: number }>,
): TenantCostChange[] {
  const afterOf = new Map(after.map((t) => [t.tenantId, t]));
  const out: TenantCostChange[] = [];
  for (const b of before) {
    const a = afterOf.get(b.tenantId);
    if (!a) continue;
    const sideBefore = costSide(b);
    const sideAfter = costSide(a);
    const limit = costLimit(b);
    const near = (side: CostSide) => side.costRefused > 0 || (limit !== null && side.peak !== null && side.peak >= NEAR_SHARE * limit);
    if (!near(sideBefore) && !near(sideAfter)) continue;
    const counts = extra.get(b.tenantId) ?? { notRepriced: 0, liveCostRefused: 0 };
    out.push({ tenantId: b.tenantId, plans: b.plans, requests: b.requests, ...counts, costPerMinute: limit, before: sideBefore, after: sideAfter });
  }
  return out.sort(
    (x, y) =>
      y.before.costRefused + y.after.costRefused - (x.before.costRefused + x.after.costRefused) ||
      shareOf(y) - shareOf(x) ||
      x.tenantId.localeCompare(y.tenantId),
  );
}

/** Requests refused by a cost limit, over every tenant of a replay. */
export function costRefusedOf(tenants: readonly TenantReplay[]): number {
  let n = 0;
  for (const t of tenants) n += costSide(t).costRefused;
  return n;
}

function costSide(t: TenantReplay): CostSide {
  const costPolicies = new Set(t.limits.filter((u) => u.kind === 'cost').map((u) => u.policy));
  let costRefused = 0;
  for (const [policy, n] of Object.entries(t.refusedBy)) if (policy === 'max-cost' || costPolicies.has(policy)) costRefused += n;
  const use = t.limits.find((u) => u.kind === 'cost');
  return { costRefused, refused: t.refused, peak: use?.peak ?? null, peakAt: use ? use.peakAt : null, headroom: use?.headroom ?? null };
}

function costLimit(t: TenantReplay): number | null {
  return t.limits.find((u) => u.kind === 'cost')?.limit ?? null;
}

function shareOf(t: TenantCostChange): number {
  if (t.costPerMinute === null || t.costPerMinute === 0) return 0;
  return Math.max(t.before.peak ?? 0, t.after.peak ?? 0) / t.costPerMinute;
}
