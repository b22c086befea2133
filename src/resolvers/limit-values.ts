import type { PlanLimits } from '../config/schema.js';

/** The numeric plan limits a client may read, and a platform admin may set at run time. */
export const NUMERIC_LIMITS = [
  'requestsPerMinute',
  'requestsPerDay',
  'requestsPerMonth',
  'costPerMinute',
  'maxOperationCost',
  'responseBytesPerHour',
  'perIpPerMinute',
] as const;

/** The schema shows a limit as a number, or null for `unlimited` and for no limit at all. */
export function limitValues(limits: PlanLimits): Record<(typeof NUMERIC_LIMITS)[number], number | null> {
  return Object.fromEntries(NUMERIC_LIMITS.map((f) => [f, typeof limits[f] === 'number' ? limits[f] : null])) as Record<
    (typeof NUMERIC_LIMITS)[number],
    number | null
  >;
}
