import type { TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { EffectiveLimits } from './effective-limits.js';
import type { RuntimeOverride } from './overrides.js';
import type { Adjustment, ShadowCheck, ShadowVerdict } from './store/types.js';

/**
 * What the limit decision asks of shadow limits (src/shadow/, wired in gateway.ts): for each
 * request, the shadow group its check carries in the same store call, and afterwards what its
 * verdict and settle are. Off (no shadow anywhere): `NO_SHADOWS`.
 */
export interface ShadowSide {
  /** The request's shadow group; null when no shadow covers its tenant (or for the free usage operations). */
  charge(request: ShadowRequest, effective: EffectiveLimits): ShadowRequestCharge | null;
  /** Whether a shadow covers the tenant now: its checks are then not sent early at the door. */
  covers(config: Config, tenantId: string, now: number): boolean;
}

/** A request as the limit decision knows it (`effective`, passed beside it: the enforced plan it is charged to). */
export interface ShadowRequest {
  config: Config;
  principal: TenantPrincipal;
  runtime: RuntimeOverride | undefined;
  ip: string;
  rootFields: string[];
  pricedOnly: boolean;
  estimate: number;
  now: number;
}

/** One request's shadow group, and what becomes of its verdict. */
export interface ShadowRequestCharge {
  readonly check: ShadowCheck;
  /** The store's verdict on the group (counted in metrics when it would have refused). */
  decided(verdict: ShadowVerdict, planId: string): void;
  /** After the response, when the request ran: refunds and bytes on the shadow's counters. */
  settle(verdict: ShadowVerdict, decisionNow: number, actualCost: number | null, responseBytes: number): Adjustment[];
}

export const NO_SHADOWS: ShadowSide = { charge: () => null, covers: () => false };
