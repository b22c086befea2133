import type { TenantPrincipal } from '../auth/principal.js';
import { hasTenant } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import { storeCall } from '../errors/store-unavailable.js';
import type { GatewayContext } from '../graph/context.js';
import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import type { TrustedDocumentInput } from '../trusted-documents/registry.js';

const STORE_DOWN =
  'Trusted documents cannot be read or written: their store cannot be reached (a registration that timed out may still apply; repeating it is safe).';

/** Registering what a tenant's publishable keys may run is for the tenant's admins, with a secret key. */
function requireTenantAdmin(ctx: GatewayContext): TenantPrincipal {
  const principal = ctx.principal;
  if (!hasTenant(principal) || principal.kind !== 'apiKey' || principal.publishable || principal.role !== 'admin') {
    throw new GatewayError('FORBIDDEN', "Trusted documents are managed with a tenant admin's secret API key.");
  }
  return principal;
}

function variablesOf(text: string | null | undefined, index: number): Record<string, unknown> | null {
  if (text == null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (isPlainObject(value)) return value;
  } catch {
    // reported below
  }
  throw new GatewayError('BAD_USER_INPUT', `documents[${index}].variables must be a JSON object: ${text}`, {
    extensions: { argument: `documents[${index}].variables` },
  });
}

export const trustedDocumentResolvers: Resolvers = {
  Query: {
    trustedDocuments: async (_root, _args, ctx) => {
      const { tenantId } = requireTenantAdmin(ctx);
      return storeCall('trusted-documents', STORE_DOWN, ctx.trustedDocuments.list(tenantId));
    },
  },
  Mutation: {
    registerTrustedDocuments: async (_root, { documents }, ctx) => {
      const principal = requireTenantAdmin(ctx);
      const inputs: TrustedDocumentInput[] = documents.map((d, i) => ({
        body: d.body,
        id: d.id ?? null,
        name: d.name ?? null,
        variables: variablesOf(d.variables, i),
      }));
      const registered = await storeCall('trusted-documents', STORE_DOWN, ctx.trustedDocuments.register(principal.tenantId, principal.clientId, inputs));
      ctx.logger.info({ tenantId: principal.tenantId, by: principal.clientId, count: registered.length }, 'trusted documents registered');
      return registered;
    },
    removeTrustedDocuments: async (_root, { ids }, ctx) => {
      const principal = requireTenantAdmin(ctx);
      return storeCall('trusted-documents', STORE_DOWN, ctx.trustedDocuments.remove(principal.tenantId, ids));
    },
  },
  TrustedDocument: {
    id: (d) => `sha256:${d.sha256}`,
    cost: (d) => d.cost?.fieldCost ?? null,
    typeCost: (d) => d.cost?.typeCost ?? null,
    pricedWith: (d) => JSON.stringify(d.pricedWith),
    withinPlan: (d, _args, ctx) => {
      if (!d.cost || !hasTenant(ctx.principal)) return null;
      const maximum = ctx.limitsView.effective(ctx.config, ctx.principal.tenantId).limits.maxOperationCost;
      return typeof maximum === 'number' ? d.cost.fieldCost <= maximum : null;
    },
    registeredAt: (d) => new Date(d.registeredAt).toISOString(),
  },
};
