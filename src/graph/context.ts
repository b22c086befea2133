import type { AdmissionNowRow } from '../admission/admission-now.js';
import type { Principal, TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { CallTrace } from '../downstream/call-context.js';
import type { Downstream } from '../downstream/downstream.js';
import type { Priority } from '../fairness/priority.js';
import type { Loaders } from '../downstream/loaders.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { OverridesStore } from '../limits/overrides.js';
import type { LimitsView } from '../limits/windows.js';
import type { UsageStore } from '../usage/store.js';
import type { TrustedDocuments } from '../trusted-documents/registry.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../audit/limit-changes.js';
import type { Checkout } from '../billing/checkout.js';
import type { MeteredBillingStatus } from '../billing/metered-billing.js';
import type { SyntheticHistory } from '../demo/backfill.js';
import type { RequestState } from './request-state.js';
import type { Calibration } from '../calibration/calibration.js';
import type { ShadowServices } from '../shadow/shadow-report.js';
import type { PlanReplay } from '../replay/plan-replay.js';

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
  /**
   * This request's share of each downstream service's slots (its plan's weight, its priority
   * class, its plan for the metrics), set at admission; null: the defaults (weight 1, normal).
   */
  downstreamShare: DownstreamShare | null;
  /** The request's trace, which its downstream calls continue (tracing/call-spans.ts); undefined: not traced. */
  downstreamTrace: CallTrace | undefined;
  /** Null for principals without a tenant (platform admins). */
  loaders: Loaders | null;
  logger: Logger;
  /** Runtime limit overrides, for the platform-admin mutations. */
  overrides: OverridesStore;
  /** Shadow limits in force and their would-be refusals, for the platform-admin console and mutations. */
  shadows: ShadowServices;
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
  /** Stripe Checkout and customer-portal sessions, and what the billing page shows. */
  checkout: Checkout;
  /** Usage-based billing's outbox and last reconciliation, for platform admins. */
  meteredBilling: { status(): Promise<MeteredBillingStatus> };
  /** The tenant's registered trusted documents (persisted operations). */
  trustedDocuments: TrustedDocuments;
  /** Cost calibration of this instance's observations, for platform admins (calibration/). */
  calibration: Pick<Calibration, 'report' | 'replay'>;
  /** The console's What if: a bounded replay of the request record against proposed plans (replay/plan-replay.ts). */
  replay: PlanReplay;
  /** What the request path has established so far, stage by stage (request-state.ts): accepted, priced, decided, answered. */
  state: RequestState;
}

/** What the platform console's `health` shows (wiring/request-pipeline.ts builds it: wiring/health-view.ts). */
export interface HealthView {
  /** `not configured` (in-memory stores), `ok`, or `down: <reason>`. */
  redis: string;
  /** The limit store's breaker: `closed` (Redis in use), `open` (local fallback), `half-open`; `local` without Redis. */
  limitStore: string;
  /** Per service: breaker, slots in use, calls waiting, and the concurrency limit now (adaptive). */
  downstream: { service: string; breaker: string; inFlight: number; queued: number; limit: number }[];
  /** Fair admission on this instance now and who it queued, shed or refused in the last minute; null when admission is off. */
  admission: AdmissionView | null;
}

/** This instance's admission, for the platform console (src/admission/admission-now.ts). */
export interface AdmissionView {
  /** Requests running now and the instance's limit now (it shrinks while the event loop lags). */
  inFlight: number;
  limit: number;
  /** Requests waiting now: in the fair queue across tenants, and behind their own tenant's cap. */
  queued: number;
  tenantsWaiting: number;
  recent: AdmissionNowRow[];
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

/** What a request's downstream calls carry for the services' fair queues (downstream/service-client.ts `CallContext`). */
export interface DownstreamShare {
  weight: number;
  priority: Priority;
  plan: string;
}

/** The call context every downstream request of this GraphQL request carries. */
export function callOf(ctx: GatewayContext, principal: TenantPrincipal) {
  return { tenantId: principal.tenantId, requestId: ctx.requestId, trace: ctx.downstreamTrace, ...ctx.downstreamShare };
}
