import type { Counters } from './counters.js';

/** Bucket sizes. Boundaries are UTC (a tenant time zone would shift day and month starts). */
export type Granularity = 'minute' | 'hour' | 'day' | 'month';

/** What every usage view reports for a bucket or a range. */
export interface UsageTotals {
  requests: number;
  ok: number;
  errors: number;
  /** Errors that were the gateway's or a downstream service's failure (part of `errors`). */
  faults: number;
  throttled: number;
  /** Throttled requests by the limit that refused them ('requests', 'quota', 'cost', ...). */
  throttledBy: Record<string, number>;
  /** Estimated cost of the requests that ran. */
  requestedCost: number;
  /** Estimated cost of the requests refused before running (throttled or over the operation maximum): never run, never charged. */
  refusedCost: number;
  actualCost: number;
  responseBytes: number;
  cacheHits: number;
  cacheMisses: number;
  /** ms. Percentiles interpolated from the bucket histogram (error: totals.ts `percentile`); mean exact. */
  latency: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
}

export interface HistoryPoint extends UsageTotals {
  /** ISO 8601 start of the bucket, UTC. */
  start: string;
  granularity: Granularity;
  /**
   * The bucket has not ended yet (its end is after the store's now): its counts are still
   * growing, so a chart must not read its low values as a drop.
   */
  partial: boolean;
}

/**
 * What the meter hands the store: the requests of one tenant, plan and client whose `at` fell in
 * one UTC minute, summed, with the same sums per root field (a request selecting two root fields
 * counts fully in each field's series, so per-field sums can exceed the tenant's).
 */
export interface Aggregate {
  /** Epoch ms of the minute's start. */
  minute: number;
  tenantId: string;
  planId: string;
  clientId: string;
  counters: Counters;
  fields: ReadonlyMap<string, Counters>;
  /**
   * Which rollups to write: `all` normally; `tenant` (tenant, client and field buckets) or
   * `fleet` (per-plan and per-field fleet buckets, fleet indexes) for the half of an aggregate
   * a partly failed write left unwritten.
   */
  scope: 'all' | 'tenant' | 'fleet';
  /**
   * The finest buckets to write, default `minute`. `hour` for a whole hour summed at once (the
   * demo's synthetic backfill): its minute bucket would otherwise hold the hour's total.
   */
  finest?: Granularity;
}

export type AggregateBatch = readonly Aggregate[];

/** A write that did not (fully) land: `unwritten` is what to retry; the rest is stored. */
export class UsageWriteError extends Error {
  constructor(
    message: string,
    readonly unwritten: AggregateBatch,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UsageWriteError';
  }
}

/**
 * A usage query the store refuses (range over the bucket limit, past retention, bad arguments):
 * the caller's input to change, not a storage failure. Messages name the limit and the value.
 */
export class UsageQueryError extends Error {
  override name = 'UsageQueryError';
}

export interface HistoryQuery {
  tenantId: string;
  granularity: Granularity;
  /** Epoch ms; every bucket touching [from, to] is returned. */
  from: number;
  to: number;
  /** One client's series (not together with rootField). */
  client?: string;
  /** One root field's series, e.g. 'Query.customers' (not together with client). */
  rootField?: string;
}

/**
 * One series of buckets: a tenant's totals, one of its API keys or root fields, or a plan's
 * fleet-wide totals.
 */
export type SeriesRef = { tenantId: string; client?: string; rootField?: string } | { planId: string };

/** The most series one `mergedHistory` may add up (each costs one key per bucket). */
export const MAX_MERGED_SERIES = 50;

/** What the forecast reads of a bucket: its counts, without the histogram and the rest. */
export interface BucketCounts {
  /** Epoch ms of the bucket's start. */
  start: number;
  requests: number;
  throttled: number;
  /** Milli-points, as stored (an integer, so sums stay exact). */
  actualCostMilli: number;
}

export interface RangeQuery {
  granularity: Granularity;
  from: number;
  to: number;
}

export interface Anomaly {
  tenantId: string;
  /** Requests in the last complete minute. */
  currentPerMinute: number;
  /** Mean requests per minute over the 60 minutes before it. */
  baselinePerMinute: number;
  /** current / max(baseline, 1). */
  ratio: number;
}

/**
 * Usage rollups: minute, hour, day and month buckets per tenant, per tenant and client, per
 * tenant and root field, and fleet-wide per plan and per root field. Key layout, retention and
 * memory: MEMORY.md. Every query refuses ranges over MAX_BUCKETS (1000) buckets and ranges older
 * than the retention of the buckets it would read.
 */
export interface UsageStore {
  /** Adds the batch to every rollup in one round trip; throws UsageWriteError naming what is unwritten. */
  write(batch: AggregateBatch): Promise<void>;
  /** Every bucket touching [from, to], zero-filled, oldest first. */
  history(q: HistoryQuery): Promise<HistoryPoint[]>;
  /**
   * Every bucket touching [from, to] of several series added up (at most MAX_MERGED_SERIES),
   * histograms merged, so percentiles are of the merged traffic: the platform console's
   * filtered fleet history.
   */
  mergedHistory(q: RangeQuery & { series: readonly SeriesRef[] }): Promise<HistoryPoint[]>;
  /**
   * The buckets touching [from, to] of the tenant (`null`) and of some of its root fields, one
   * list per entry of `series`, zero-filled, oldest first, with only the counts the forecast
   * needs: `history` reads and decodes every field of every bucket, which for a week of hours
   * of three series was most of a forecast's time.
   */
  counts(q: RangeQuery & { tenantId: string; series: readonly (string | null)[] }): Promise<BucketCounts[][]>;
  /** The tenant's totals over the range, histograms merged, so percentiles are of the whole range. */
  summary(q: RangeQuery & { tenantId: string }): Promise<UsageTotals>;
  /** The tenant's clients or root fields with requests in the range, by requests desc. */
  breakdown(q: RangeQuery & { tenantId: string; by: 'client' | 'rootField' }): Promise<{ key: string; totals: UsageTotals }[]>;
  /** All tenants with requests in the range, by requests desc; planId is the latest plan seen. */
  tenants(q: RangeQuery): Promise<{ tenantId: string; planId: string; totals: UsageTotals }[]>;
  /** Fleet totals per plan, by requests desc. */
  plans(q: RangeQuery): Promise<{ planId: string; totals: UsageTotals }[]>;
  /** Fleet totals per root field, by requests desc. */
  rootFields(q: RangeQuery): Promise<{ rootField: string; totals: UsageTotals }[]>;
  /** Tenants far above their own recent rate (rule: anomalies.ts), by ratio desc. */
  anomalies(q: { now: number }): Promise<Anomaly[]>;
}
