import { platformAdminScope } from '../graph/context.js';
import type { PlanProposalInput, Resolvers } from '../graph/generated/resolvers-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { PlanLimits } from '../config/schema.js';
import type { PlanProposal } from '../replay/plan-replay.js';

/** Most tenants one answer lists (each with its limits): the rest are counted in `tenantCount`. */
const MAX_TENANTS = 500;

export const replayResolvers: Resolvers = {
  Query: {
    replayPlans: (_root, _args, ctx) => {
      platformAdminScope(ctx, 'Plans for a replay');
      return Object.entries(ctx.config.plans).map(([id, plan]) => {
        const limit = (value: number | 'unlimited' | undefined) => (typeof value === 'number' ? value : null);
        const l = plan.limits;
        return {
          id,
          displayName: plan.displayName,
          requestsPerMinute: limit(l.requestsPerMinute),
          requestsPerDay: limit(l.requestsPerDay),
          requestsPerMonth: limit(l.requestsPerMonth),
          costPerMinute: limit(l.costPerMinute),
          maxOperationCost: limit(l.maxOperationCost),
          responseBytesPerHour: limit(l.responseBytesPerHour),
          perIpPerMinute: limit(l.perIpPerMinute),
          perClientShare: l.perClientShare ?? null,
        };
      });
    },
    planReplay: async (_root, args, ctx) => {
      platformAdminScope(ctx, 'Replay against a proposed plan');
      const shown = args.tenants ?? 50;
      if (shown < 1 || shown > MAX_TENANTS) {
        throw new GatewayError('BAD_USER_INPUT', `tenants must be from 1 to ${MAX_TENANTS}: ${shown}`, { extensions: { argument: 'tenants' } });
      }
      const result = await ctx.replay.run({ from: args.from, to: args.to, plans: args.plans.map(proposalOf) });
      return {
        from: new Date(Date.parse(args.from)).toISOString(),
        to: new Date(Date.parse(args.to)).toISOString(),
        records: result.records,
        maxRecords: result.maxRecords,
        truncated: result.truncated,
        changed: result.changed,
        decidedLocally: result.decidedLocally,
        tenantCount: result.tenants.length,
        tenants: result.tenants.slice(0, shown).map((t) => ({
          tenantId: t.tenantId,
          plans: t.plans,
          requests: t.requests,
          refused: t.refused,
          liveRefused: t.liveRefused,
          held: t.held,
          firstRefusalAt: iso(t.firstRefusalAt),
          lastRefusalAt: iso(t.lastRefusalAt),
          refusedBy: Object.entries(t.refusedBy)
            .sort((a, b) => b[1] - a[1])
            .map(([policy, count]) => ({ policy, count })),
          limits: t.limits.map((u) => ({ ...u, peakAt: new Date(u.peakAt).toISOString() })),
        })),
      };
    },
  },
};

function proposalOf(input: PlanProposalInput): PlanProposal {
  const limits: PlanLimits = {};
  for (const name of [
    'requestsPerMinute',
    'requestsPerDay',
    'requestsPerMonth',
    'costPerMinute',
    'maxOperationCost',
    'responseBytesPerHour',
    'perIpPerMinute',
  ] as const) {
    const value = input[name];
    if (value != null) limits[name] = value;
  }
  if (input.perClientShare != null) limits.perClientShare = input.perClientShare;
  return { plan: input.plan, limits, unlimited: input.unlimited ?? [] };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
