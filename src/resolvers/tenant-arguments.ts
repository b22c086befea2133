import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayContext } from '../graph/context.js';

/** A platform admin's `tenantId` argument must name a configured tenant: BAD_USER_INPUT otherwise. */
export function requireTenant(ctx: GatewayContext, tenantId: string): void {
  if (!Object.hasOwn(ctx.config.tenants, tenantId)) {
    throw new GatewayError('BAD_USER_INPUT', `Unknown tenant: "${tenantId}"`, { extensions: { argument: 'tenantId' } });
  }
}

/** The plan in force as the audit trail records it: `pro (billing)`. */
export function planLabel(ctx: GatewayContext, tenantId: string): string {
  const plan = ctx.limitsView.plan(ctx.config, tenantId);
  return `${plan.planId} (${plan.source})`;
}
