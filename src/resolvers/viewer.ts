import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { Role } from '../config/schema.js';

const KIND = { apiKey: 'API_KEY', service: 'SERVICE', platformAdmin: 'PLATFORM_ADMIN' } as const;

export function roleEnum(role: Role) {
  return role.toUpperCase() as 'ADMIN' | 'SUPPORT' | 'VIEWER';
}

export const viewerResolvers: Resolvers = {
  Query: {
    viewer: (_root, _args, ctx) => {
      const p = ctx.principal;
      if (p.kind === 'platformAdmin') return { kind: KIND[p.kind], clientId: p.clientId, role: null, tenant: null };
      const tenant = ctx.config.tenants[p.tenantId]!;
      const plan = ctx.config.plans[tenant.plan]!;
      return {
        kind: KIND[p.kind],
        clientId: p.clientId,
        role: roleEnum(p.role),
        tenant: {
          id: p.tenantId,
          displayName: tenant.displayName,
          timeZone: tenant.timeZone,
          plan: { id: tenant.plan, displayName: plan.displayName },
        },
      };
    },
  },
};
