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
  /**
   * The gateway or a service behind it failed the request: HTTP 5xx, or an error coded
   * INTERNAL_SERVER_ERROR, DOWNSTREAM_UNAVAILABLE or DOWNSTREAM_TIMEOUT. Counts against an SLA;
   * a client's mistake (bad input, FORBIDDEN) does not. Absent: false.
   */
  fault?: boolean;
  /** When throttled: 'requests' | 'quota' | 'cost' | 'bandwidth' | 'field' | 'unavailable' | ... */
  throttledBy: string | null;
  latencyMs: number;
  requestedCost: number;
  actualCost: number;
  responseBytes: number;
  cacheHits: number;
  cacheMisses: number;
}
