import type { BillingConfig, MeterConfig } from '../config/billing-schema.js';
import type { Logger } from '../observability/logger.js';
import type { UsageStore } from '../usage/store.js';
import type { BillingStore } from './billing-store.js';
import { eventTimestamp, HOUR_MS, lastClosedHour, meterEventIdentifier } from './meter-hours.js';
import type { MeterEventEntry, MeterOutbox } from './meter-outbox.js';
import { meterValue } from './meter-value.js';

export interface HourCloserDeps {
  outbox: MeterOutbox;
  usage: UsageStore;
  billingStore: BillingStore;
  billing: () => BillingConfig;
  logger: Logger;
  now: () => number;
}

/**
 * Turns every closed hour into meter events in the outbox: per meter, the hours after its closed
 * cursor (at most `catchUpHours` back), each tenant that had usage in the hour on one of the
 * meter's plans (the plan the meter recorded, usage/store.ts `tenants`) and has a Stripe
 * customer. Any instance may close: entries are added by identifier, the cursor only moves
 * forward, so two closing at once add each event once.
 */
export function createHourCloser(deps: HourCloserDeps) {
  const { outbox, usage, billingStore, logger } = deps;

  async function eventsOf(name: string, meter: MeterConfig, hour: number, now: number): Promise<MeterEventEntry[]> {
    const rows = await usage.tenants({ granularity: 'hour', from: hour, to: hour + HOUR_MS - 1 });
    const entries: MeterEventEntry[] = [];
    for (const row of rows) {
      if (!meter.plans.includes(row.planId)) continue;
      const { requests, throttled, actualCost } = row.totals;
      const value = meterValue(meter.measure, { requests, throttled, actualCostMilli: Math.round(actualCost * 1000) });
      if (value <= 0) continue;
      // Checkout links the customer; a subscription made elsewhere is known by its billing record.
      const customerId = (await billingStore.customerOfTenant(row.tenantId)) ?? billingStore.get(row.tenantId)?.customerId ?? null;
      if (!customerId) {
        logger.warn({ tenantId: row.tenantId, meter: name, hour: new Date(hour).toISOString() }, 'metered tenant has no Stripe customer: hour not billed');
        continue;
      }
      entries.push({
        id: meterEventIdentifier(row.tenantId, name, hour),
        tenantId: row.tenantId,
        customerId,
        meter: name,
        eventName: meter.eventName,
        meterId: meter.meterId,
        measure: meter.measure,
        value,
        hour,
        timestamp: eventTimestamp(hour),
        kind: 'hour',
        status: 'pending',
        attempts: 0,
        lastError: null,
        enqueuedAt: now,
        sentAt: null,
      });
    }
    return entries;
  }

  /** Closes every hour due; resolves to the hours closed and the events added. */
  return async function closeHours(): Promise<{ hours: number; added: number }> {
    const billing = deps.billing();
    const now = deps.now();
    const last = lastClosedHour(now, billing.metering.settleSeconds * 1000);
    const oldest = last - (billing.metering.catchUpHours - 1) * HOUR_MS;
    let hours = 0;
    let added = 0;
    for (const [name, meter] of Object.entries(billing.meters)) {
      const through = await outbox.closedThrough(name);
      for (let hour = Math.max(oldest, through === null ? oldest : through + HOUR_MS); hour <= last; hour += HOUR_MS) {
        added += await outbox.enqueue(await eventsOf(name, meter, hour, now), now);
        await outbox.markClosed(name, hour);
        hours += 1;
      }
    }
    if (added > 0) logger.info({ hours, added }, 'closed metered hours');
    return { hours, added };
  };
}
