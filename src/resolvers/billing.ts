import type { TenantPrincipal } from '../auth/principal.js';
import { hasTenant } from '../auth/principal.js';
import { BillingSessionError } from '../billing/checkout.js';
import { GatewayError } from '../errors/gateway-error.js';
import { storeCall } from '../errors/store-unavailable.js';
import { platformAdminScope, type GatewayContext } from '../graph/context.js';
import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { planView } from './viewer.js';

/** Buying a plan is for the tenant's admins, with a secret key (a publishable key sits in a web page). */
function requireTenantAdmin(ctx: GatewayContext): TenantPrincipal {
  const principal = ctx.principal;
  if (!hasTenant(principal) || principal.kind !== 'apiKey' || principal.publishable || principal.role !== 'admin') {
    throw new GatewayError('FORBIDDEN', "Billing is managed with a tenant admin's secret API key.");
  }
  return principal;
}

/** A session that could not be made, as the error code that says whose move it is. */
async function session(work: Promise<string>): Promise<{ url: string }> {
  try {
    return { url: await work };
  } catch (error) {
    if (!(error instanceof BillingSessionError)) throw error;
    if (error.reason === 'not-configured') throw new GatewayError('BILLING_NOT_CONFIGURED', error.message);
    if (error.reason === 'stripe') throw new GatewayError('BILLING_UNAVAILABLE', `${error.message} Retry in a moment.`);
    throw new GatewayError('BAD_USER_INPUT', error.message);
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const billingResolvers: Resolvers = {
  Query: {
    billing: async (_root, _args, ctx) => {
      const { tenantId } = requireTenantAdmin(ctx);
      const overview = await ctx.checkout.overview(tenantId);
      const plan = ctx.limitsView.plan(ctx.config, tenantId);
      return {
        setup: overview.setup,
        plan: planView(ctx.config, plan),
        offers: overview.offers.map((o) => ({ plan: o.planId, displayName: o.displayName, price: o.displayPrice, current: o.planId === plan.planId })),
        subscription: overview.subscription
          ? { status: overview.subscription.status, plan: overview.subscription.paidPlanId, graceUntil: iso(overview.subscription.graceUntil) }
          : null,
        pendingUpgrade: overview.pending ? { plan: overview.pending.planId, since: new Date(overview.pending.at).toISOString() } : null,
      };
    },
  },
  FleetUsage: {
    meteredBilling: async (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      // The outbox and the report live beside the billing records (Redis, or the process).
      const status = await storeCall('limit-overrides', "Metered billing's state cannot be read: its store cannot be reached.", ctx.meteredBilling.status());
      const report = status.lastReconciliation;
      return { ...status, lastReconciliation: report ? { ...report, at: new Date(report.at).toISOString() } : null };
    },
  },
  Mutation: {
    startCheckout: (_root, { plan }, ctx) => session(ctx.checkout.startCheckout(requireTenantAdmin(ctx).tenantId, plan)),
    openBillingPortal: (_root, _args, ctx) => session(ctx.checkout.openPortal(requireTenantAdmin(ctx).tenantId)),
  },
};
