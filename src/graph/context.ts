import type { Principal, TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { Downstream } from '../downstream/downstream.js';
import type { Loaders } from '../downstream/loaders.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { OverridesStore } from '../limits/overrides.js';
import type { EarlyCheck } from '../limits/early-check.js';
import type { LimitsView } from '../limits/windows.js';
import type { UsageStore } from '../usage/store.js';
import type { TrustedDocuments } from '../trusted-documents/registry.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../audit/limit-changes.js';
import type { HealthView } from '../observability/health-view.js';
import type { SyntheticHistory } from '../demo/backfill.js';

/**
 * Per-request context: built once per request after authentication, never shared. The loaders
 * belong to this request and its tenant only.
 */
export interface GatewayContext {
  requestId: string;
  principal: Principal;
  /** Client address (from X-Forwarded-For only when `server.trustProxy` says so). */
  ip: string;
  /** The config in force when the request started; a hot reload does not change it mid-request. */
  config: Config;
  downstream: Downstream;
  /** Null for principals without a tenant (platform admins). */
  loaders: Loaders | null;
  logger: Logger;
  /** Runtime limit overrides, for the platform-admin mutations. */
  overrides: OverridesStore;
  /** Limits in force and live windows, for the `usage` query. */
  limitsView: LimitsView;
  /** Metered history, for the `usage` and `fleetUsage` queries. */
  usage: UsageStore;
  /** Who changed which tenant's limits at run time, for the platform console. */
  audit: AuditLog;
  /** Redis, limit store and downstream health, for the platform console. */
  health: () => Promise<HealthView>;
  /** The span of the demo's synthetic history, null when none was written. */
  synthetic: SyntheticHistory | null;
  /** The tenant's registered trusted documents (persisted operations). */
  trustedDocuments: TrustedDocuments;
  /** Facts the plugins hand to each other during one request (cost -> limits -> metering). */
  state: RequestState;
}

/** Filled in as the request goes through the plugin hooks; every field is optional. */
export interface RequestState {
  /** Set by the cost plugin in didResolveOperation; `actual` after execution. */
  cost?: { requested: number; typeCost: number; actual?: number };
  /** Set by the limits plugin: the cost budget after this request's charge, for extensions.cost.limit. */
  costLimit?: { limit: number; remaining: number; resetAt: string; window: string };
  /** True when the client asked for a price only (no execution). */
  dryRun?: boolean;
  /** `rateLimit(dryRun: true)`: only the rateLimit selections execute; nothing is charged. */
  pricedOnly?: boolean;
  /** The limit check sent at the door (limits/early-check.ts), for the limits plugin to claim. */
  earlyLimitCheck?: EarlyCheck;
  /** Epoch ms when the request was accepted (after authentication): latency is measured from here. */
  startedAt: number;
  /** Root fields the operation selects (`Query.customers`), set once the operation is resolved. */
  rootFields?: string[];
  operationName?: string | null;
  /** The plan the limits plugin charged the request to (after runtime overrides); absent when no check ran. */
  planId?: string;
  /** Why the limits refused the request (`requests`, `quota`, `cost`, `max-cost`, ...), if they did. */
  throttled?: string;
  /** The response carried errors. */
  hadErrors?: boolean;
  /** One of them was the gateway's or a downstream service's failure (usage/capture.ts FAULT_CODES). */
  hadFault?: boolean;
}

/** For resolvers of tenant data: the tenant's principal and loaders, or FORBIDDEN. */
export function tenantScope(ctx: GatewayContext): { principal: TenantPrincipal; loaders: Loaders } {
  const { principal, loaders } = ctx;
  // `in`, not hasTenant(): that reads the key's kind, which the field cache counts as depending on
  // the key (cache/fill-context.ts), while having a tenant is all this asks.
  if (!loaders || !('tenantId' in principal)) {
    throw new GatewayError('FORBIDDEN', 'Platform-admin keys have no tenant data; use a tenant API key.');
  }
  return { principal, loaders };
}

/** For platform-admin-only fields: the admin key's id, or FORBIDDEN naming what was asked for. */
export function platformAdminScope(ctx: GatewayContext, what: string): string {
  if (ctx.principal.kind !== 'platformAdmin') throw new GatewayError('FORBIDDEN', `${what} is for platform-admin keys only.`);
  return ctx.principal.clientId;
}

/** The call context every downstream request of this GraphQL request carries. */
export function callOf(ctx: GatewayContext, principal: TenantPrincipal) {
  return { tenantId: principal.tenantId, requestId: ctx.requestId };
}
