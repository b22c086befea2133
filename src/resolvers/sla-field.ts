import type { GatewayContext } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { SLA_DEFINITION } from '../usage/sla.js';
import { monthStart, tenantSla, type SlaReport } from '../usage/tenant-sla.js';
import { readUsage } from './usage.js';

/** `sla(month)` of a tenant's usage view: null when the tenant's plan (after runtime changes) declares no targets. */
export async function slaOf(ctx: GatewayContext, tenantId: string, month: string | null | undefined): Promise<SlaReport | null> {
  const target = ctx.config.plans[ctx.limitsView.effective(ctx.config, tenantId).planId]?.sla;
  if (!target) return null;
  const now = Date.now();
  const start = month == null ? now : monthStart(month);
  if (start === null) throw new GatewayError('BAD_USER_INPUT', `month must look like 2026-11: "${month}"`, { extensions: { argument: 'month' } });
  return readUsage(tenantSla({ usage: ctx.usage, tenantId, target, month: start, now }));
}

export const slaResolvers: Resolvers = {
  UsageSla: {
    definition: () => SLA_DEFINITION,
    breaches: (report) => report.days.filter((d) => d.breached.length > 0),
  },
};
