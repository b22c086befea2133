import { assertRange, bucketStart, bucketStarts, cover, iso, nextBucket } from './buckets.js';
import { addFields, emptyCounters, type Counters } from './counters.js';
import { RETENTION_MS, bucketKey, fleetIndexKey, retentionClass, tenantIndexKey, type Series } from './keys.js';
import { findAnomalies } from './anomalies.js';
import {
  MAX_MERGED_SERIES,
  UsageQueryError,
  type BucketCounts,
  type Granularity,
  type HistoryPoint,
  type RangeQuery,
  type SeriesRef,
  type UsageStore,
  type UsageTotals,
} from './store.js';
import { toTotals } from './totals.js';
import type { HashReader } from './hash-reader.js';

/** The hash fields (counters.ts) behind BucketCounts: requests, throttled, actual cost (milli-points). */
const COUNT_FIELDS = ['r', 't', 'ac'] as const;

/**
 * The read half of a usage store, over any HashReader: the Redis and memory stores share it, so
 * they answer alike by construction. `now` only decides which ranges are past retention.
 */
export function createUsageQueries(reader: HashReader, now: () => number): Omit<UsageStore, 'write'> {
  const checkRetention = (series: Series, granularity: Granularity, from: number) => {
    const kept = RETENTION_MS[retentionClass(series)][granularity];
    if (kept === null) return;
    const horizon = bucketStart(granularity, now() - kept);
    if (bucketStart(granularity, from) < horizon) {
      const what = series.kind === 'client' ? 'per-client ' : series.kind === 'tenantField' ? 'per-root-field ' : '';
      throw new UsageQueryError(
        `${what}${granularity} buckets are kept ${kept / 86_400_000} days: from ${iso(from)} is before ${iso(horizon)}; use a coarser granularity`,
      );
    }
  };

  /** Sums of each series over the range, read as whole coarser buckets where they fit. */
  const rangeTotals = async (seriesList: readonly Series[], q: RangeQuery): Promise<Counters[]> => {
    const parts = cover(q.granularity, q.from, q.to);
    const keys = seriesList.flatMap((series) => parts.map((part) => bucketKey(series, part.granularity, part.start)));
    const hashes = await reader.read(keys);
    return seriesList.map((_, i) => {
      const counters = emptyCounters();
      for (const hash of hashes.slice(i * parts.length, (i + 1) * parts.length)) addFields(counters, hash);
      return counters;
    });
  };

  /** Validates a range query against the bucket limit and the retention of `series`' buckets. */
  const checkRange = (q: RangeQuery, series: Series) => {
    assertRange(q.granularity, q.from, q.to);
    checkRetention(series, q.granularity, q.from);
  };

  /** Field names (prefix stripped) of the index hashes covering the range, oldest index first. */
  const indexEntries = async (keyOf: (g: 'day' | 'month', t: number) => string, q: RangeQuery, prefix: string) => {
    const g = q.granularity === 'month' ? 'month' : 'day';
    const hashes = await reader.read(bucketStarts(g, q.from, q.to).map((t) => keyOf(g, t)));
    const entries = new Map<string, string>();
    for (const hash of hashes) {
      for (const [field, value] of Object.entries(hash)) if (field.startsWith(prefix)) entries.set(field.slice(prefix.length), value);
    }
    return entries;
  };

  /** Non-empty results, most requests first (ties by name, so the order is stable). */
  const ranked = <T extends { totals: UsageTotals }>(rows: T[], name: (row: T) => string): T[] =>
    rows.filter((row) => row.totals.requests > 0).sort((a, b) => b.totals.requests - a.totals.requests || (name(a) < name(b) ? -1 : 1));

  return {
    async history(q) {
      if (q.client !== undefined && q.rootField !== undefined) {
        throw new UsageQueryError('usage history reads the buckets of one client or one root field, not both: pass client or rootField');
      }
      const series: Series =
        q.client !== undefined
          ? { kind: 'client', tenantId: q.tenantId, clientId: q.client }
          : q.rootField !== undefined
            ? { kind: 'tenantField', tenantId: q.tenantId, rootField: q.rootField }
            : { kind: 'tenant', tenantId: q.tenantId };
      const starts = bucketStarts(q.granularity, q.from, q.to);
      checkRetention(series, q.granularity, q.from);
      const hashes = await reader.read(starts.map((t) => bucketKey(series, q.granularity, t)));
      return starts.map((t, i): HistoryPoint => {
        const counters = emptyCounters();
        addFields(counters, hashes[i]!);
        return historyPoint(q.granularity, t, counters, now());
      });
    },

    async mergedHistory(q) {
      if (q.series.length > MAX_MERGED_SERIES) {
        throw new UsageQueryError(`a merged history adds up at most ${MAX_MERGED_SERIES} series: ${q.series.length}; narrow the filter`);
      }
      const seriesList = q.series.map(toSeries);
      const starts = bucketStarts(q.granularity, q.from, q.to);
      for (const series of seriesList) checkRetention(series, q.granularity, q.from);
      const hashes = await reader.read(seriesList.flatMap((series) => starts.map((t) => bucketKey(series, q.granularity, t))));
      return starts.map((t, i): HistoryPoint => {
        const counters = emptyCounters();
        for (let s = 0; s < seriesList.length; s++) addFields(counters, hashes[s * starts.length + i]!);
        return historyPoint(q.granularity, t, counters, now());
      });
    },

    async counts(q) {
      const seriesList = q.series.map(
        (rootField): Series => (rootField === null ? { kind: 'tenant', tenantId: q.tenantId } : { kind: 'tenantField', tenantId: q.tenantId, rootField }),
      );
      const starts = bucketStarts(q.granularity, q.from, q.to);
      for (const series of seriesList) checkRetention(series, q.granularity, q.from);
      const values = await reader.readFields(
        seriesList.flatMap((series) => starts.map((t) => bucketKey(series, q.granularity, t))),
        COUNT_FIELDS,
      );
      const count = (raw: string | null | undefined) => {
        const n = Number(raw ?? 0);
        return Number.isFinite(n) ? n : 0;
      };
      return seriesList.map((_, s) =>
        starts.map((start, i): BucketCounts => {
          const [requests, throttled, actualCostMilli] = values[s * starts.length + i]!;
          return { start, requests: count(requests), throttled: count(throttled), actualCostMilli: count(actualCostMilli) };
        }),
      );
    },

    async summary(q) {
      const series: Series = { kind: 'tenant', tenantId: q.tenantId };
      checkRange(q, series);
      const [sum] = await rangeTotals([series], q);
      return toTotals(sum!);
    },

    async breakdown(q) {
      checkRange(q, q.by === 'client' ? { kind: 'client', tenantId: q.tenantId, clientId: '' } : { kind: 'tenantField', tenantId: q.tenantId, rootField: '' });
      const prefix = q.by === 'client' ? 'c:' : 'f:';
      const names = [...(await indexEntries((g, t) => tenantIndexKey(q.tenantId, g, t), q, prefix)).keys()];
      const series = names.map(
        (name): Series =>
          q.by === 'client' ? { kind: 'client', tenantId: q.tenantId, clientId: name } : { kind: 'tenantField', tenantId: q.tenantId, rootField: name },
      );
      const sums = await rangeTotals(series, q);
      return ranked(
        names.map((key, i) => ({ key, totals: toTotals(sums[i]!) })),
        (row) => row.key,
      );
    },

    async tenants(q) {
      checkRange(q, { kind: 'tenant', tenantId: '' });
      const plans = await indexEntries(fleetIndexKey, q, 't:');
      const tenantIds = [...plans.keys()];
      const sums = await rangeTotals(
        tenantIds.map((tenantId): Series => ({ kind: 'tenant', tenantId })),
        q,
      );
      return ranked(
        tenantIds.map((tenantId, i) => ({ tenantId, planId: plans.get(tenantId)!, totals: toTotals(sums[i]!) })),
        (row) => row.tenantId,
      );
    },

    async plans(q) {
      checkRange(q, { kind: 'plan', planId: '' });
      const planIds = [...(await indexEntries(fleetIndexKey, q, 'p:')).keys()];
      const sums = await rangeTotals(
        planIds.map((planId): Series => ({ kind: 'plan', planId })),
        q,
      );
      return ranked(
        planIds.map((planId, i) => ({ planId, totals: toTotals(sums[i]!) })),
        (row) => row.planId,
      );
    },

    async rootFields(q) {
      checkRange(q, { kind: 'fleetField', rootField: '' });
      const fields = [...(await indexEntries(fleetIndexKey, q, 'f:')).keys()];
      const sums = await rangeTotals(
        fields.map((rootField): Series => ({ kind: 'fleetField', rootField })),
        q,
      );
      return ranked(
        fields.map((rootField, i) => ({ rootField, totals: toTotals(sums[i]!) })),
        (row) => row.rootField,
      );
    },

    anomalies: (q) => findAnomalies(reader, q.now),
  };
}

/** One bucket of a history; partial while it is still filling (it ends after `now`). */
function historyPoint(granularity: Granularity, start: number, counters: Counters, now: number): HistoryPoint {
  return { start: new Date(start).toISOString(), granularity, partial: nextBucket(granularity, start) > now, ...toTotals(counters) };
}

function toSeries(ref: SeriesRef): Series {
  if ('planId' in ref) return { kind: 'plan', planId: ref.planId };
  if (ref.client !== undefined && ref.rootField !== undefined) {
    throw new UsageQueryError('a series is of one client or one root field, not both: pass client or rootField');
  }
  if (ref.client !== undefined) return { kind: 'client', tenantId: ref.tenantId, clientId: ref.client };
  if (ref.rootField !== undefined) return { kind: 'tenantField', tenantId: ref.tenantId, rootField: ref.rootField };
  return { kind: 'tenant', tenantId: ref.tenantId };
}
