import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { platformAdminScope } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { CostSide } from '../calibration/cost-limit-tenants.js';

/** Most tenants one answer lists per size set (each with its two sides): the rest are counted in `tenantCount`. */
const MAX_TENANTS = 500;

export const calibrationResolvers: Resolvers = {
  Query: {
    costCalibration: (_root, { minLists }, ctx) => {
      platformAdminScope(ctx, 'Cost calibration');
      return ctx.calibration.report({ minLists: checkedMinLists(minLists) });
    },
    costCalibrationReplay: async (_root, args, ctx) => {
      platformAdminScope(ctx, 'Cost calibration');
      const minLists = checkedMinLists(args.minLists);
      const shown = args.tenants ?? 50;
      if (shown < 1 || shown > MAX_TENANTS) {
        throw new GatewayError('BAD_USER_INPUT', `tenants must be from 1 to ${MAX_TENANTS}: ${shown}`, { extensions: { argument: 'tenants' } });
      }
      const result = await ctx.calibration.replay({ from: args.from, to: args.to, minLists, eachSuggestion: args.eachSuggestion ?? false });
      return {
        ...result,
        from: new Date(result.from).toISOString(),
        to: new Date(result.to).toISOString(),
        sets: result.sets.map((set) => ({
          ...set,
          tenantCount: set.tenants.length,
          tenants: set.tenants.slice(0, shown).map((t) => ({ ...t, before: side(t.before), after: side(t.after) })),
        })),
      };
    },
  },
};

function checkedMinLists(minLists: number | null | undefined): number {
  if (minLists != null && minLists < 1) {
    throw new GatewayError('BAD_USER_INPUT', `minLists must be at least 1: ${minLists}`, { extensions: { argument: 'minLists' } });
  }
  return minLists ?? 20;
}

function side(s: CostSide) {
  return { ...s, peakAt: s.peakAt === null ? null : new Date(s.peakAt).toISOString() };
}
