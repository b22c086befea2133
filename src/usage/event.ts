/** How a metered request ended. */
export type UsageStatus = 'ok' | 'error' | 'throttled';

/**
 * One request as the meter sees it, recorded once the response is known (throttled requests
 * included). The meter aggregates these in process; nothing here is stored per request.
 */
export interface UsageEvent {
  /** Epoch ms when the request arrived; decides the buckets it counts in (UTC). */
  at: number;
  tenantId: string;
  /** API key / service token id. */
  clientId: string;
  planId: string;
  principalKind: 'apiKey' | 'service';
  /** Not aggregated in storage: client-chosen names have unbounded cardinality (MEMORY.md). */
  operationName: string | null;
  /** Distinct root fields, e.g. ['Query.customers', 'Query.product']. */
  rootFields: string[];
  status: UsageStatus;
  /** When throttled: 'requests' | 'quota' | 'cost' | 'bandwidth' | 'field' | 'unavailable' | ... */
  throttledBy: string | null;
  latencyMs: number;
  requestedCost: number;
  actualCost: number;
  responseBytes: number;
  cacheHits: number;
  cacheMisses: number;
}
