import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { Config, Role } from '../config/schema.js';

const KIND = { apiKey: 'API_KEY', service: 'SERVICE', platformAdmin: 'PLATFORM_ADMIN' } as const;

export function roleEnum(role: Role) {
  return role.toUpperCase() as 'ADMIN' | 'SUPPORT' | 'VIEWER';
}

/** A tenant as the schema shows it (`Tenant`), from config. */
export function tenantView(config: Config, tenantId: string) {
  const tenant = config.tenants[tenantId]!;
  const plan = config.plans[tenant.plan]!;
  return {
    id: tenantId,
    displayName: tenant.displayName,
    timeZone: tenant.timeZone,
    plan: { id: tenant.plan, displayName: plan.displayName },
  };
}

export const viewerResolvers: Resolvers = {
  Query: {
    viewer: (_root, _args, ctx) => {
      const p = ctx.principal;
      if (p.kind === 'platformAdmin') return { kind: KIND[p.kind], clientId: p.clientId, role: null, tenant: null };
      return { kind: KIND[p.kind], clientId: p.clientId, role: roleEnum(p.role), tenant: tenantView(ctx.config, p.tenantId) };
    },
  },
};
