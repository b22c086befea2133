import type Stripe from 'stripe';
import type { Logger } from '../observability/logger.js';
import { withinStripeWindow } from './meter-hours.js';
import type { MeterEventEntry, MeterOutbox, Settlement } from './meter-outbox.js';

export interface MeterSenderDeps {
  outbox: MeterOutbox;
  stripe: () => Stripe | null;
  /** Longest one Stripe call may take (billing.apiTimeoutMs); the lease outlasts the client's three tries. */
  apiTimeoutMs: () => number;
  logger: Logger;
  now: () => number;
}

/** Events sent per round (concurrently). */
const BATCH = 10;
/** Retry backoff: 1 s doubling to 10 min, with up to 20% jitter so a fleet does not retry in step. */
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 10 * 60_000;

export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempts, 20));
  return Math.round(base * (1 + 0.2 * random()));
}

/**
 * Stripe refuses an identifier it already holds with a 400 and this message (no error code),
 * under a new idempotency key: the event was delivered before (an instance died before settling,
 * or a lease ran out mid-send). Other projects met this after adding identifiers and stalled on it.
 */
function isAlreadyAtStripe(error: unknown): boolean {
  // stripe-node puts the request id before Stripe's own message (`[req_...] An event ...`); `raw` has it bare.
  const e = error as { statusCode?: number; raw?: { message?: string } };
  return e.statusCode === 400 && (e.raw?.message ?? '').startsWith('An event already exists with identifier');
}

/** A 4xx other than 429 (a deleted customer, a bad event name): sending again cannot help. */
function isPermanent(error: unknown): boolean {
  const status = (error as { statusCode?: number }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 429;
}

/**
 * Sends due outbox entries to Stripe (`billing.meterEvents.create`) under their deterministic
 * identifier. A failure is retried with backoff for as long as Stripe's 35-day window lets it;
 * an entry leased by an instance that died is due again when the lease ends.
 */
export function createMeterSender(deps: MeterSenderDeps) {
  const { outbox, logger } = deps;

  async function sendOne(stripe: Stripe, entry: MeterEventEntry): Promise<Settlement> {
    const now = deps.now();
    if (!withinStripeWindow(entry.hour, now)) return { status: 'failed', error: 'older than Stripe accepts (35 days)' };
    try {
      await stripe.billing.meterEvents.create(
        {
          event_name: entry.eventName,
          identifier: entry.id,
          timestamp: entry.timestamp,
          payload: { stripe_customer_id: entry.customerId, value: String(entry.value) },
        },
        // The same key on every send of the entry: within Stripe's 24 h a resend is answered as the first was.
        { idempotencyKey: `meter-event:${entry.id}` },
      );
      return { status: 'sent', at: deps.now() };
    } catch (error) {
      if (isAlreadyAtStripe(error)) return { status: 'sent', at: deps.now() };
      const message = error instanceof Error ? error.message : String(error);
      if (isPermanent(error)) return { status: 'failed', error: message };
      return { status: 'pending', dueAt: deps.now() + backoffMs(entry.attempts), error: message };
    }
  }

  /** One round: claims up to BATCH due entries and sends them; resolves to how many were sent. */
  return async function sendDue(): Promise<{ sent: number; retried: number; failed: number }> {
    const stripe = deps.stripe();
    const counts = { sent: 0, retried: 0, failed: 0 };
    // Without a key, events wait in the outbox (up to Stripe's window) until one is configured.
    if (!stripe) return counts;
    const leaseMs = deps.apiTimeoutMs() * 3 + 5000;
    const entries = await outbox.claim(deps.now(), BATCH, leaseMs);
    await Promise.all(
      entries.map(async (entry) => {
        const outcome = await sendOne(stripe, entry);
        await outbox.settle(entry, outcome);
        if (outcome.status === 'sent') counts.sent += 1;
        else if (outcome.status === 'pending') counts.retried += 1;
        else {
          counts.failed += 1;
          logger.error({ id: entry.id, tenantId: entry.tenantId, meter: entry.meter, error: outcome.error }, 'meter event refused for good');
        }
      }),
    );
    return counts;
  };
}
