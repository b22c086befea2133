// Imports carry `.js`: besides the page, the gateway's tests load this file under Node's module
// resolution (test/usage/csv-export-parity.test.ts), which needs the extension.
import { historyToCsv, type CsvPoint } from '../../src/usage/csv.js';
import type { PortalHistoryFieldsFragment, UsageGranularity } from './generated/operations.js';

/** A bucket of the portal's history (its totals carry the mean latency the CSV writes). */
type ExportPoint = PortalHistoryFieldsFragment['history'][number];

/**
 * The shown history as CSV: the same writer, columns and escaping as the gateway's /usage.csv
 * (src/usage/csv.ts), fed the points as GraphQL returned them. `granularity` is the one the
 * history was asked at (a point does not carry it).
 */
export function historyCsv(points: readonly ExportPoint[], granularity: UsageGranularity): string {
  return historyToCsv(points.map((point) => csvPoint(point, granularity)));
}

function csvPoint({ start, totals: t }: ExportPoint, granularity: UsageGranularity): CsvPoint {
  return {
    start,
    // The API's enum is upper case; /usage.csv writes the store's lower-case name.
    granularity: granularity.toLowerCase(),
    requests: t.requests,
    ok: t.ok,
    errors: t.errors,
    throttled: t.throttled,
    throttledBy: Object.fromEntries(t.throttledBy.map((r) => [r.reason, r.count])),
    requestedCost: t.requestedCost,
    refusedCost: t.refusedCost,
    actualCost: t.actualCost,
    responseBytes: t.responseBytes,
    cacheHits: t.cacheHits,
    cacheMisses: t.cacheMisses,
    latency: { p50: t.latencyP50Ms, p95: t.latencyP95Ms, p99: t.latencyP99Ms, mean: t.latencyMeanMs },
  };
}
