import type Stripe from 'stripe';
import type { AuditLog } from '../audit/limit-changes.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { BillingPlan } from './billing-plan.js';
import type { BillingStore } from './billing-store.js';
import { planInForce } from './plan-in-force.js';

/** What became of one delivered event; every outcome but a thrown error is answered 200. */
export interface EventOutcome {
  result: 'applied' | 'unchanged' | 'duplicate' | 'ignored' | 'unapplied';
  tenantId?: string;
  reason?: string;
}

/**
 * Writes a tenant's billing record for one event and, when the plan it puts the tenant on (or the
 * subscription's status) changed, an audit entry with the plan before and after; clears the
 * portal's "upgrade pending" once a subscription is active.
 */
export function createPlanRecorder(deps: { store: BillingStore; audit: AuditLog; config: () => Config; logger: Logger; now: () => number }) {
  const { store, logger, now } = deps;

  /** The plan a billing record puts its tenant on, for the audit entry: `pro (billing)`. */
  function label(config: Config, tenantId: string, plan: BillingPlan | undefined): string {
    const p = planInForce(config, tenantId, { planId: null, expiresAt: null, ...(plan ? { billing: plan } : {}) }, now());
    return `${p.planId} (${p.source})`;
  }

  return async function record(event: Stripe.Event, tenantId: string, change: (current: BillingPlan | undefined) => BillingPlan | null): Promise<EventOutcome> {
    const config = deps.config();
    const written = await store.update(tenantId, change);
    if (!written) return { result: 'unchanged', tenantId };
    const before = label(config, tenantId, written.before);
    const after = label(config, tenantId, written.after);
    if (before !== after || written.before?.status !== written.after.status) {
      const planId = planInForce(config, tenantId, { planId: null, expiresAt: null, billing: written.after }, now()).planId;
      await deps.audit.record({
        at: now(),
        by: 'stripe',
        tenantId,
        action: 'subscription',
        planId,
        limits: {},
        expiresAt: written.after.graceUntil,
        source: 'billing',
        eventId: event.id,
        before,
        after,
      });
      logger.info({ tenantId, eventId: event.id, type: event.type, before, after, status: written.after.status }, 'billing changed a tenant plan');
    }
    // The upgrade the portal shows as pending has arrived.
    if (written.after.status === 'active' || written.after.status === 'trialing') await store.setPending(tenantId, null);
    return { result: 'applied', tenantId };
  };
}
