/** One request as a service received it (admin routes excluded). */
export interface RecordedRequest {
  method: string;
  /** The route template, e.g. `/products/:id` (counters key it as `GET /products/:id`); `(no route)` if none matched. */
  route: string;
  url: string;
  tenantId: string | null;
  requestId: string | null;
  /** The W3C `traceparent` it came with (the gateway sends one while tracing), null without. */
  traceparent: string | null;
  /** Epoch ms when it arrived. */
  at: number;
}

/** How many requests `requests()` keeps: the newest 1000. */
export const REQUEST_LOG_SIZE = 1000;

/** Counters per route and a bounded ring of the latest requests, for tests and benchmarks. */
export function createRequestLog(size = REQUEST_LOG_SIZE) {
  let counts = new Map<string, number>();
  // A ring: `next` is where the next request goes; once full it overwrites the oldest.
  let ring: RecordedRequest[] = [];
  let next = 0;

  return {
    /** `counted` is false for requests that matched no route: they have no template to count. */
    record(request: RecordedRequest, counted: boolean): void {
      if (counted) {
        const key = `${request.method} ${request.route}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (ring.length < size) ring.push(request);
      else ring[next] = request;
      next = (next + 1) % size;
    },
    counters(): Record<string, number> {
      return Object.fromEntries(counts);
    },
    /** Oldest first. */
    requests(): RecordedRequest[] {
      return ring.length < size ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)];
    },
    reset(): void {
      counts = new Map();
      ring = [];
      next = 0;
    },
  };
}

export type RequestLog = ReturnType<typeof createRequestLog>;
