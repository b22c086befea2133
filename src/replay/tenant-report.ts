import type { ReplayedDecision } from './replay-decider.js';

/** One limit of a tenant under the replayed plan: how close the period came to it. */
export interface LimitUse {
  /** The policy (`minute`, `client-minute`, `day`, `cost-minute`, `bytes-hour`, `Mutation.placeOrder`, ...). */
  policy: string;
  /** The dimension's kind, as a refusal names it (`requests`, `quota`, `cost`, `bandwidth`, `field`). */
  kind: string;
  limit: number;
  /** The most any decision saw in use (after its own charge when admitted); for a per-key or per-address limit, the busiest key's. */
  peak: number;
  /** Epoch ms of the first decision that saw `peak`. */
  peakAt: number;
  /** max(0, limit − peak): what was never used, at the busiest moment. */
  headroom: number;
}

/** What the replayed plan would have done to one tenant's recorded requests. */
export interface TenantReplay {
  tenantId: string;
  /** The plan(s) its requests were charged to, in the order first seen. */
  plans: string[];
  requests: number;
  /** Requests the replayed plan refuses. */
  refused: number;
  /** Refusals by policy (the limit that refused first), `max-cost` for the per-operation maximum. */
  refusedBy: Record<string, number>;
  /** Requests held in a burst zone (graduated throttling) instead of refused. */
  held: number;
  /** Epoch ms of the first and the latest refusal; null: none. */
  firstRefusalAt: number | null;
  lastRefusalAt: number | null;
  /** What the live plan refused of the same requests (the record's own decision), for comparison. */
  liveRefused: number;
  limits: LimitUse[];
}

/** Accumulates the replay's decisions per tenant; `tenants()` lists them, most refused first. */
export function createTenantReport() {
  const byTenant = new Map<string, { report: TenantReplay; uses: Map<string, LimitUse> }>();

  function add(replayed: ReplayedDecision): void {
    const { record, dims, decision, policy } = replayed;
    let entry = byTenant.get(record.tenantId);
    if (!entry) {
      entry = { report: emptyReport(record.tenantId), uses: new Map() };
      byTenant.set(record.tenantId, entry);
    }
    const report = entry.report;
    const at = decision?.now ?? record.decidedAt ?? record.at;
    report.requests += 1;
    if (report.plans[report.plans.length - 1] !== record.planId && !report.plans.includes(record.planId)) report.plans.push(record.planId);
    if (record.throttledBy !== null) report.liveRefused += 1;
    if (policy !== null) {
      report.refused += 1;
      report.refusedBy[policy] = (report.refusedBy[policy] ?? 0) + 1;
      report.firstRefusalAt ??= at;
      report.lastRefusalAt = at;
    } else if ((decision?.heldMs ?? 0) > 0) report.held += 1;
    if (!decision) return;
    for (let i = 0; i < dims.length; i++) {
      const dim = dims[i]!;
      const result = decision.results[i]!;
      let use = entry.uses.get(dim.policy);
      if (!use) {
        use = { policy: dim.policy, kind: dim.kind, limit: result.limit, peak: 0, peakAt: at, headroom: result.limit };
        entry.uses.set(dim.policy, use);
      }
      // A plan change inside the period (the record says which plan): the newest limit is reported.
      if (result.limit !== use.limit) Object.assign(use, { limit: result.limit, peak: 0, peakAt: at, headroom: result.limit });
      if (result.used > use.peak) {
        use.peak = result.used;
        use.peakAt = at;
        use.headroom = Math.max(0, use.limit - result.used);
      }
    }
  }

  function tenants(): TenantReplay[] {
    const list = [...byTenant.values()].map(({ report, uses }) => ({ ...report, limits: [...uses.values()] }));
    return list.sort((a, b) => b.refused - a.refused || b.requests - a.requests || a.tenantId.localeCompare(b.tenantId));
  }

  return { add, tenants };
}

export type TenantReport = ReturnType<typeof createTenantReport>;

function emptyReport(tenantId: string): TenantReplay {
  return { tenantId, plans: [], requests: 0, refused: 0, refusedBy: {}, held: 0, firstRefusalAt: null, lastRefusalAt: null, liveRefused: 0, limits: [] };
}
