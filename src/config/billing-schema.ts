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
