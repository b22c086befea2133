import { createMemoryAuditLog, createRedisAuditLog, type AuditLog } from '../audit/limit-changes.js';
import { createCheckout, type Checkout } from '../billing/checkout.js';
import { createMeteredBilling, type MeteredBilling } from '../billing/metered-billing.js';
import { stripeClientOf } from '../billing/stripe-client.js';
import { createBillingEvents, type BillingEvents } from '../billing/webhook-events.js';
import type { ConfigSource } from '../config/source.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import type { LimitsSide } from './limits-side.js';
import type { MeteringSide } from './metering-side.js';
import { auditPlanChanges } from './plan-audit.js';

export interface BillingSide {
  /** Every change of a tenant's plan or limits, whoever made it. */
  audit: AuditLog;
  /** Stops the audit of the changes no request writes (plan-audit.ts). */
  stopPlanAudit: () => void;
  billingEvents: BillingEvents;
  meteredBilling: MeteredBilling;
  checkout: Checkout;
}

/** The audit of plan and limit changes, and Stripe: its webhook events, metered billing and Checkout. */
export function createBillingSide(deps: {
  config: ConfigSource;
  redis: RedisClient | null;
  limits: Pick<LimitsSide, 'billingStore' | 'overrides'>;
  metering: Pick<MeteringSide, 'usageStore' | 'alerts'>;
  logger: Logger;
  /** Where Checkout sends the customer back to. */
  returnUrl: () => string;
}): BillingSide {
  const { config, redis, logger } = deps;
  const { billingStore } = deps.limits;
  const { alerts } = deps.metering;
  const auditPolicy = () => config.current().audit;
  const audit = redis ? createRedisAuditLog(redis, auditPolicy) : createMemoryAuditLog(auditPolicy);
  const stopPlanAudit = auditPlanChanges({ config, overrides: deps.limits.overrides, audit, logger });
  // Stripe: webhooks move tenants' billing records; the client (when a key is configured) reads
  // subscriptions back and opens Checkout and portal sessions.
  const stripe = stripeClientOf(() => config.current().billing);
  const billingEvents = createBillingEvents({ store: billingStore, audit, alerts, config: () => config.current(), stripe, logger });
  // Usage-based billing: closed hours of the usage history become Stripe meter events through a
  // durable outbox in Redis; a reconciliation pass compares them with Stripe's summaries.
  const meteredBilling = createMeteredBilling({
    redis,
    usage: deps.metering.usageStore,
    billingStore,
    stripe,
    billing: () => config.current().billing,
    logger,
  });
  const checkout = createCheckout({ store: billingStore, stripe, config: () => config.current(), returnUrl: deps.returnUrl });
  return { audit, stopPlanAudit, billingEvents, meteredBilling, checkout };
}
