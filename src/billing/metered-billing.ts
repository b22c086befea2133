import type Stripe from 'stripe';
import type { BillingConfig } from '../config/billing-schema.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import type { UsageStore } from '../usage/store.js';
import type { BillingStore } from './billing-store.js';
import { createHourCloser } from './meter-closer.js';
import { createMemoryMeterOutbox, createRedisMeterOutbox, type MeterOutbox } from './meter-outbox.js';
import { createReconciler, type ReconcileReport } from './meter-reconcile.js';
import { createMeterSender } from './meter-sender.js';

export interface MeteredBillingDeps {
  redis: RedisClient | null;
  usage: UsageStore;
  billingStore: BillingStore;
  stripe: () => Stripe | null;
  billing: () => BillingConfig;
  logger: Logger;
  /** Epoch ms; tests close hours on a clock of their own. Default `Date.now`. */
  now?: () => number;
}

/** How often each instance looks for hours to close, ms. */
const CLOSE_EVERY_MS = 30_000;
/** The fleet-wide "reconciled recently" mark: whoever sets it runs the pass. */
const RECONCILED_KEY = 'meter:{outbox}:reconciled';
/** The fleet's last report, for `fleetUsage.meteredBilling` on any instance. */
const REPORT_KEY = 'meter:{outbox}:report';
/** Differences a stored report keeps (the count says how many there were). */
const REPORT_DIFFERENCES = 100;

/** What platform admins see of metered billing (`fleetUsage.meteredBilling`). */
export interface MeteredBillingStatus {
  meters: string[];
  pending: number;
  lastReconciliation: (ReconcileReport & { differenceCount: number }) | null;
}

/**
 * Usage-based billing through Stripe Billing Meters: closed hours become events in a durable
 * outbox (meter-outbox.ts), every instance sends due events (meter-sender.ts), and one instance
 * per `metering.reconcileEveryMinutes` compares the window with Stripe (meter-reconcile.ts).
 * With no meters configured, nothing runs.
 */
export function createMeteredBilling(deps: MeteredBillingDeps) {
  const now = deps.now ?? Date.now;
  const outbox: MeterOutbox = deps.redis ? createRedisMeterOutbox(deps.redis) : createMemoryMeterOutbox();
  const closeHours = createHourCloser({ outbox, usage: deps.usage, billingStore: deps.billingStore, billing: deps.billing, logger: deps.logger, now });
  const sendDue = createMeterSender({ outbox, stripe: deps.stripe, apiTimeoutMs: () => deps.billing().apiTimeoutMs, logger: deps.logger, now });
  const reconcile = createReconciler({ outbox, usage: deps.usage, stripe: deps.stripe, billing: deps.billing, logger: deps.logger, now });
  let lastReport: MeteredBillingStatus['lastReconciliation'] = null;
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  /** Runs `job` unless a run of it is still going or the loop stopped; a failure is logged and tried next round. */
  const loop = (what: string, job: () => Promise<unknown>) => {
    let busy = false;
    return () => {
      if (busy || stopped || Object.keys(deps.billing().meters).length === 0) return;
      busy = true;
      const run = job()
        .catch((err: unknown) => deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `metered billing: ${what} failed`))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    };
  };

  /** Runs a pass and keeps its report where every instance reads it. */
  async function reconcileAndReport(): Promise<ReconcileReport> {
    const report = await reconcile();
    lastReport = { ...report, differenceCount: report.differences.length, differences: report.differences.slice(0, REPORT_DIFFERENCES) };
    await deps.redis?.set(REPORT_KEY, JSON.stringify(lastReport));
    return report;
  }

  async function reconcileIfDue(): Promise<void> {
    const periodMs = deps.billing().metering.reconcileEveryMinutes * 60_000;
    if (deps.redis && (await deps.redis.set(RECONCILED_KEY, String(now()), 'PX', periodMs, 'NX')) !== 'OK') return;
    try {
      await reconcileAndReport();
    } catch (error) {
      // A pass that failed (Stripe down) leaves the mark free, so the next minute's check on any instance tries again.
      await deps.redis?.del(RECONCILED_KEY).catch(() => {});
      throw error;
    }
  }

  async function status(): Promise<MeteredBillingStatus> {
    const [pending, stored] = await Promise.all([outbox.pendingCount(), deps.redis ? deps.redis.get(REPORT_KEY) : null]);
    return { meters: Object.keys(deps.billing().meters), pending, lastReconciliation: stored ? JSON.parse(stored) : lastReport };
  }

  return {
    outbox,
    closeHours,
    sendDue,
    reconcile: reconcileAndReport,
    status,
    /** Starts the loops: closing at once and every 30 s, sending every `metering.sendEveryMs`, reconciling once a minute if due. */
    start() {
      const close = loop('closing hours', closeHours);
      const send = loop('sending meter events', async () => {
        // Drains what is due, a batch at a time, then waits for the next round.
        while (!stopped && (await sendDue()).sent > 0);
      });
      const check = loop('reconciliation', reconcileIfDue);
      close();
      timers.push(setInterval(close, CLOSE_EVERY_MS), setInterval(send, deps.billing().metering.sendEveryMs), setInterval(check, 60_000));
      for (const timer of timers) timer.unref();
    },
    /** Stops the loops and waits for the round in progress (an unsettled entry is due again when its lease ends). */
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
export type MeteredBilling = ReturnType<typeof createMeteredBilling>;
