import { z } from 'zod';

/**
 * The `billing` and `audit` blocks of the config file (README "Billing"). Plan names here are
 * checked against `plans` in schema.ts, once the whole file has parsed.
 */

/** One Stripe price the gateway knows: the plan it sells, or a metered (usage) price that grants no plan. */
const priceSchema = z
  .strictObject({
    /** The plan a subscription item with this price grants. */
    plan: z.string().min(1).optional(),
    /** Shown on the portal's billing page next to the Upgrade button, e.g. "$49 / month"; absent: not on sale there. */
    displayPrice: z.string().min(1).max(64).optional(),
    /** A usage-based price (overage): it rides along a plan's price and never decides the plan. */
    metered: z.boolean().default(false),
  })
  .refine((p) => (p.plan === undefined) === p.metered, { message: 'name either a plan or metered: true, not both and not neither' });

/**
 * One Stripe Billing Meter the gateway reports to: every closed hour, one meter event per billed
 * tenant with the hour's usage (README "Metered billing"). The meter must sum raw events.
 */
const meterSchema = z.strictObject({
  /** The meter's `event_name` in Stripe. */
  eventName: z.string().min(1).max(100),
  /** The meter's id (`mtr_...`), for reading its event summaries back (reconciliation). */
  meterId: z.string().min(1),
  /** What one unit is: a request that ran (throttled ones are not billed), or a cost point actually spent (rounded per hour). */
  measure: z.enum(['requests', 'costPoints']),
  /** The plans whose tenants this meter bills (a tenant also needs a Stripe customer). */
  plans: z.array(z.string().min(1)).min(1),
});
export type MeterConfig = z.infer<typeof meterSchema>;

/** How closed hours become meter events and how they are checked against Stripe. */
const meteringSchema = z.strictObject({
  /** How long after an hour ends it is closed, in seconds, default 120: usage still buffered in instances lands first. */
  settleSeconds: z.number().int().nonnegative().max(3600).default(120),
  /** How far back a starting or long-stopped fleet closes hours it missed, in hours, default 47 (the fleet's hourly tenant index lives 2 days). */
  catchUpHours: z.number().int().positive().max(47).default(47),
  /** How often each instance looks for due events in the outbox, in ms, default 1 s. */
  sendEveryMs: z.number().int().positive().max(600_000).default(1000),
  /** How often the fleet compares closed hours with Stripe's summaries, in minutes, default 60. */
  reconcileEveryMinutes: z
    .number()
    .int()
    .positive()
    .max(24 * 60)
    .default(60),
  /**
   * How long after an hour's events were sent reconciliation waits before comparing it, in seconds,
   * default 900: Stripe aggregates meter events asynchronously, and a summary read too early would
   * look short and be "corrected" twice over.
   */
  summaryLagSeconds: z.number().int().nonnegative().max(86_400).default(900),
  /** How many days back reconciliation looks (Stripe takes events up to 35 days old), default 35. */
  reconcileDays: z.number().int().positive().max(35).default(35),
});
export type MeteringConfig = z.infer<typeof meteringSchema>;

export const billingSchema = z.strictObject({
  /**
   * Stripe secret API key, for Checkout and customer-portal sessions and for reading a
   * subscription back when webhooks disagree. Overridden by STRIPE_SECRET_KEY. Absent: the
   * portal's billing page says what to configure, and webhooks apply their payloads as sent.
   */
  secretKey: z.string().min(1).optional(),
  /** The webhook endpoint's signing secret (`whsec_...`). Overridden by STRIPE_WEBHOOK_SECRET. Absent: POST /webhooks/billing answers 404. */
  webhookSecret: z.string().min(1).optional(),
  /** Oldest signature timestamp accepted, in seconds (Stripe's default 300): a replayed old delivery is refused. */
  webhookToleranceSeconds: z.number().int().positive().max(86_400).default(300),
  /**
   * Where the Stripe client sends API calls, default Stripe's own; a local URL for tests and the
   * demo's fake Stripe (the `stripe` package's host/port/protocol options).
   */
  apiUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Longest one Stripe API call may take before it counts as failed (then retried twice), default 5 s. */
  apiTimeoutMs: z.number().int().positive().max(60_000).default(5000),
  /**
   * How often each instance re-reads tenants' billing records from Redis, default 1 s: a plan
   * change reaches every instance within this long (the issue's bound is 2 s). Read at start.
   */
  pollMs: z.number().int().positive().max(3_600_000).default(1000),
  /** Stripe price id -> what it grants. A subscription's plan is read over all its items. */
  prices: z.record(z.string().min(1), priceSchema).default({}),
  /** How long a `past_due` subscription keeps its paid plan, in seconds, default 3 days. */
  pastDueGraceSeconds: z
    .number()
    .int()
    .nonnegative()
    .default(3 * 24 * 3600),
  /** The plan after the grace period, until `invoice.paid` restores the paid one; default `defaultPlan`. */
  pastDuePlan: z.string().min(1).optional(),
  /** The plan a cancelled (deleted) subscription returns the tenant to; default `defaultPlan`. */
  canceledPlan: z.string().min(1).optional(),
  /** Meter name (used in event identifiers: letters, digits, `_`, `-`) -> the Stripe meter it reports to. */
  meters: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'meter names are 1-32 letters, digits, _ or -'), meterSchema).default({}),
  metering: meteringSchema.prefault({}),
  /** The portal page Checkout returns to (success and cancel URLs are built from it), default `/dashboard/#/billing` on the gateway. */
  returnUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type BillingConfig = z.infer<typeof billingSchema>;

export const auditSchema = z.strictObject({
  /** How long plan and limit changes are kept, in days, default 90. */
  retentionDays: z.number().int().positive().max(3650).default(90),
  /** Most entries kept whatever their age, default 10,000. */
  maxEntries: z.number().int().positive().max(1_000_000).default(10_000),
});
export type AuditConfig = z.infer<typeof auditSchema>;
