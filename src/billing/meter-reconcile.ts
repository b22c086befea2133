import type Stripe from 'stripe';
import type { BillingConfig, MeterConfig } from '../config/billing-schema.js';
import type { Logger } from '../observability/logger.js';
import type { UsageStore } from '../usage/store.js';
import { eventTimestamp, HOUR_MS, hourOf, lastClosedHour, meterEventIdentifier, STRIPE_WINDOW_MS, withinStripeWindow } from './meter-hours.js';
import type { MeterEventEntry, MeterOutbox } from './meter-outbox.js';
import { meterValue } from './meter-value.js';

/** One tenant-hour whose usage differs from what Stripe recorded, and what reconciliation did. */
export interface MeterDifference {
  tenantId: string;
  meter: string;
  /** ISO start of the hour. */
  hour: string;
  /** Units the gateway metered, and units Stripe's summary holds. */
  metered: number;
  recorded: number;
  /**
   * `resent`: the shortfall went into the outbox as a correction event; `too-late`: the hour is
   * past Stripe's window; `over-recorded`: Stripe holds more than was metered (never cancelled
   * automatically: an operator looks).
   */
  action: 'resent' | 'too-late' | 'over-recorded';
}

export interface ReconcileReport {
  /** Epoch ms. */
  at: number;
  /** Tenant-hours compared (those billed, and any Stripe has usage for). */
  checked: number;
  /** Tenant-hours whose events are unsent, or sent less than `metering.summaryLagSeconds` ago: compared next time. */
  inFlight: number;
  /** Tenant-hours billed under a meter whose id, event name or measure has changed since, or that is gone: not compared. */
  unmatched: number;
  differences: MeterDifference[];
}

export interface ReconcilerDeps {
  outbox: MeterOutbox;
  usage: UsageStore;
  stripe: () => Stripe | null;
  billing: () => BillingConfig;
  logger: Logger;
  now: () => number;
}

interface TenantLedger {
  tenantId: string;
  meter: string;
  customerId: string;
  eventName: string;
  meterId: string;
  measure: MeterConfig['measure'];
  /** Hour -> whether one of its events is still unsent, and when its last one was sent (epoch ms). */
  hours: Map<number, { pending: boolean; sentAt: number }>;
}

/** The outbox entries of the window, per meter and tenant. */
function ledgers(entries: readonly MeterEventEntry[]): TenantLedger[] {
  const byKey = new Map<string, TenantLedger>();
  for (const e of entries) {
    // One ledger per meter as configured then and per customer: each is compared on its own terms.
    const key = [e.meter, e.tenantId, e.customerId, e.eventName, e.meterId, e.measure].join('\n');
    const ledger = byKey.get(key) ?? {
      tenantId: e.tenantId,
      meter: e.meter,
      customerId: e.customerId,
      eventName: e.eventName,
      meterId: e.meterId,
      measure: e.measure,
      hours: new Map(),
    };
    const hour = ledger.hours.get(e.hour) ?? { pending: false, sentAt: 0 };
    hour.pending ||= e.status === 'pending';
    hour.sentAt = Math.max(hour.sentAt, e.sentAt ?? 0);
    ledger.hours.set(e.hour, hour);
    byKey.set(key, ledger);
  }
  return [...byKey.values()];
}

/**
 * Compares each closed hour the outbox billed with Stripe's meter event summaries
 * (`billing.meters.listEventSummaries`, hourly) and with the usage history as it is now, so
 * usage that landed after its hour closed is found too. A shortfall within Stripe's window is
 * sent as a correction event whose identifier names the value Stripe had, so two instances
 * reconciling at once add it once.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const { outbox, usage, logger } = deps;

  async function compare(stripe: Stripe, ledger: TenantLedger, meter: MeterConfig, from: number, last: number, report: ReconcileReport) {
    const now = deps.now();
    const lagMs = deps.billing().metering.summaryLagSeconds * 1000;
    const counts = await usage.counts({ tenantId: ledger.tenantId, granularity: 'hour', from, to: last + HOUR_MS - 1, series: [null] });
    const metered = new Map(counts[0]!.map((c) => [c.start, meterValue(meter.measure, c)]));
    const summaries = await stripe.billing.meters
      .listEventSummaries(meter.meterId, {
        customer: ledger.customerId,
        start_time: from / 1000,
        end_time: (last + HOUR_MS) / 1000,
        value_grouping_window: 'hour',
        limit: 100,
      })
      .autoPagingToArray({ limit: 10_000 });
    const recorded = new Map(summaries.map((s) => [s.start_time * 1000, s.aggregated_value]));
    const corrections: MeterEventEntry[] = [];
    for (const hour of new Set([...ledger.hours.keys(), ...recorded.keys()])) {
      if (hour < from || hour > last) continue;
      const state = ledger.hours.get(hour);
      if (state && (state.pending || state.sentAt > now - lagMs)) {
        report.inFlight += 1;
        continue;
      }
      report.checked += 1;
      // An hour the closer did not bill (another plan then, or no usage) should hold nothing.
      const expected = state ? (metered.get(hour) ?? 0) : 0;
      const has = recorded.get(hour) ?? 0;
      if (expected === has) continue;
      const base = { tenantId: ledger.tenantId, meter: ledger.meter, hour: new Date(hour).toISOString(), metered: expected, recorded: has };
      if (expected < has) report.differences.push({ ...base, action: 'over-recorded' });
      else if (!withinStripeWindow(hour, now)) report.differences.push({ ...base, action: 'too-late' });
      else {
        report.differences.push({ ...base, action: 'resent' });
        corrections.push({
          id: meterEventIdentifier(ledger.tenantId, ledger.meter, hour, `r${has}`),
          tenantId: ledger.tenantId,
          customerId: ledger.customerId,
          meter: ledger.meter,
          eventName: meter.eventName,
          meterId: meter.meterId,
          measure: meter.measure,
          value: expected - has,
          hour,
          timestamp: eventTimestamp(hour),
          kind: 'correction',
          status: 'pending',
          attempts: 0,
          lastError: null,
          enqueuedAt: now,
          sentAt: null,
        });
      }
    }
    await outbox.enqueue(corrections, now);
  }

  /** One pass over the window (`metering.reconcileDays` back, at most Stripe's 35 days); then forgets the sent entries before it. */
  return async function reconcile(): Promise<ReconcileReport> {
    const billing = deps.billing();
    const now = deps.now();
    const report: ReconcileReport = { at: now, checked: 0, inFlight: 0, unmatched: 0, differences: [] };
    const stripe = deps.stripe();
    if (!stripe) return report;
    const last = lastClosedHour(now, billing.metering.settleSeconds * 1000);
    const from = Math.max(hourOf(now - billing.metering.reconcileDays * 24 * HOUR_MS) + HOUR_MS, hourOf(now - STRIPE_WINDOW_MS) + HOUR_MS);
    for (const ledger of ledgers(await outbox.list(from, last))) {
      const meter = billing.meters[ledger.meter];
      // A meter re-pointed (another Stripe meter, event name or measure) would read as a shortfall of every hour and bill it again.
      if (!meter || meter.meterId !== ledger.meterId || meter.eventName !== ledger.eventName || meter.measure !== ledger.measure) {
        report.unmatched += ledger.hours.size;
        continue;
      }
      await compare(stripe, ledger, meter, from, last, report);
    }
    // Out of the window a sent entry is read by nobody again (unsent ones stay for the sender).
    await outbox.prune(from);
    for (const d of report.differences) logger.warn({ difference: d }, 'metered usage differs from what Stripe recorded');
    logger.info(
      { checked: report.checked, inFlight: report.inFlight, unmatched: report.unmatched, differences: report.differences.length },
      'metered billing reconciled',
    );
    return report;
  };
}
