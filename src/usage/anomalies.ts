import { bucketStart, bucketStarts } from './buckets.js';
import { bucketKey, fleetIndexKey } from './keys.js';
import type { HashReader } from './hash-reader.js';
import { UsageQueryError, type Anomaly } from './store.js';

/*
 * The anomaly rule. With L the last complete UTC minute before `now`:
 *   current  = the tenant's requests in L
 *   baseline = its requests in the 60 minutes before L, divided by 60 (quiet minutes count as 0)
 *   anomaly  iff current > max(ANOMALY_FACTOR × baseline, ANOMALY_FLOOR_PER_MINUTE)
 *   ratio    = current / max(baseline, 1)   (finite for a tenant with no history)
 * Candidates are the tenants in the fleet's hourly index for the hours overlapping those 61
 * minutes; each costs 61 HGETs of one field (one pipeline for all tenants).
 */
export const ANOMALY_FACTOR = 5;
/** Requests per minute a tenant may always reach without being an anomaly (1 per second). */
export const ANOMALY_FLOOR_PER_MINUTE = 60;
export const BASELINE_MINUTES = 60;

const MINUTE_MS = 60_000;

export async function findAnomalies(reader: HashReader, now: number): Promise<Anomaly[]> {
  if (!Number.isFinite(now)) throw new UsageQueryError(`anomalies: now must be epoch ms: ${now}`);
  const last = bucketStart('minute', now) - MINUTE_MS;
  const first = last - BASELINE_MINUTES * MINUTE_MS;
  const indexes = await reader.read(bucketStarts('hour', first, last).map((t) => fleetIndexKey('hour', t)));
  const tenantIds = [
    ...new Set(
      indexes.flatMap((hash) =>
        Object.keys(hash)
          .filter((f) => f.startsWith('t:'))
          .map((f) => f.slice(2)),
      ),
    ),
  ].sort();
  const minutes = bucketStarts('minute', first, last); // BASELINE_MINUTES + 1, L last
  const counts = await reader.readField(
    tenantIds.flatMap((tenantId) => minutes.map((t) => bucketKey({ kind: 'tenant', tenantId }, 'minute', t))),
    'r',
  );
  const anomalies: Anomaly[] = [];
  tenantIds.forEach((tenantId, i) => {
    const series = counts.slice(i * minutes.length, (i + 1) * minutes.length).map((value) => Number(value ?? 0));
    const current = series.pop()!;
    const baseline = series.reduce((sum, n) => sum + n, 0) / BASELINE_MINUTES;
    if (current > Math.max(ANOMALY_FACTOR * baseline, ANOMALY_FLOOR_PER_MINUTE)) {
      anomalies.push({
        tenantId,
        currentPerMinute: current,
        baselinePerMinute: Math.round(baseline * 1000) / 1000,
        ratio: Math.round((current / Math.max(baseline, 1)) * 1000) / 1000,
      });
    }
  });
  return anomalies.sort((a, b) => b.ratio - a.ratio || (a.tenantId < b.tenantId ? -1 : 1));
}
