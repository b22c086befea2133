import type { GraphQLResponse } from '@apollo/server';

/**
 * How long one GraphQL request's downstream calls waited before they went out: for a slot of a
 * service (its fair queue) and for room in a service's own rate limit (its rate budget). One
 * record per request, filled by the service clients, shown to the client so that a slow answer
 * says where its time went (`extensions.downstream`, `Server-Timing`).
 *
 * Calls of one request run in parallel, so their waits overlap: each figure is the longest wait of
 * one call, never a sum that could exceed the request's own duration.
 */
export interface DownstreamWaits {
  /** Longest wait of one call for a slot of its service, ms. */
  queueMs: number;
  /** Longest wait of one call for room in its service's rate limit, ms. */
  rateLimitMs: number;
}

export function createDownstreamWaits(): DownstreamWaits {
  return { queueMs: 0, rateLimitMs: 0 };
}

/** Adds `extensions.downstream.waitedMs` to a response whose calls waited at all. */
export function reportDownstreamWaits(waits: DownstreamWaits | undefined, response: GraphQLResponse): void {
  if (!waits || (waits.queueMs === 0 && waits.rateLimitMs === 0) || response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  result.extensions = { ...result.extensions, downstream: { waitedMs: { queue: Math.round(waits.queueMs), rateLimit: Math.round(waits.rateLimitMs) } } };
}

/** `Server-Timing` entries for the waits (none when nothing waited), to join any the request already has. */
export function downstreamServerTiming(waits: DownstreamWaits | undefined): string | null {
  if (!waits) return null;
  const entries: string[] = [];
  if (waits.queueMs > 0) entries.push(`downstream-queue;dur=${Math.round(waits.queueMs)}`);
  if (waits.rateLimitMs > 0) entries.push(`downstream-rate;dur=${Math.round(waits.rateLimitMs)}`);
  return entries.length > 0 ? entries.join(', ') : null;
}
