import { sha256Hex } from '../config/hash.js';

/** One hour, ms. Meter events are hourly: the gateway's hour buckets (usage/buckets.ts) are UTC hours too. */
export const HOUR_MS = 3_600_000;
/** Stripe takes meter events whose timestamp is at most 35 calendar days old. */
export const STRIPE_WINDOW_MS = 35 * 24 * HOUR_MS;
/** Kept short of Stripe's window, so an event built now is not already too old when it arrives. */
const WINDOW_MARGIN_MS = HOUR_MS;
/** Stripe's limit on an identifier's length. */
const MAX_IDENTIFIER = 100;

/** Start (epoch ms) of the UTC hour containing `t`. */
export const hourOf = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;

/** The latest hour that is closed at `now`: it ended at least `settleMs` ago. */
export const lastClosedHour = (now: number, settleMs: number): number => hourOf(now - settleMs) - HOUR_MS;

/** `2026120613` for the hour 13:00-14:00 UTC of 6 Dec 2026: names an hour in identifiers. */
export function hourLabel(hour: number): string {
  return new Date(hour).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

/**
 * The meter event's timestamp (epoch s): the hour's last second. Stripe sums a summary window
 * [start, end) and a billing period that ends on the hour in the same way, so an event stamped
 * at the hour's exact end would count in the next hour, and on a period's last hour in the next
 * invoice.
 */
export const eventTimestamp = (hour: number): number => (hour + HOUR_MS) / 1000 - 1;

/** Whether Stripe still takes an event for `hour` at `now`. */
export const withinStripeWindow = (hour: number, now: number): boolean => eventTimestamp(hour) * 1000 > now - STRIPE_WINDOW_MS + WINDOW_MARGIN_MS;

/**
 * The deterministic identifier of a tenant's usage of one meter in one hour (`mu:acme:calls:2026120613`),
 * so that whichever instance sends it, however often, Stripe counts it once. `part` names a
 * later correction: `r<value Stripe had>` (reconcile.ts). Hashed past Stripe's 100 characters.
 */
export function meterEventIdentifier(tenantId: string, meter: string, hour: number, part?: string): string {
  // Meter names hold no `:` and the hour is digits, so no two (tenant, meter, hour, part) share an identifier.
  const tail = `${hourLabel(hour)}${part ? `:${part}` : ''}`;
  const id = `mu:${tenantId}:${meter}:${tail}`;
  if (id.length <= MAX_IDENTIFIER) return id;
  return `mu:${sha256Hex(id).slice(0, 40)}:${tail}`;
}
