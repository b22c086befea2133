import { readRateLimit, type RateLimitInfo } from '../../src/client/rate-limit-headers.js';

/** What the gateway said about one request, beyond its data: what the IDE's limits panel shows. */
export interface Exchange {
  operationName: string | null;
  status: number;
  requestId: string | null;
  /** `extensions.cost` of the response: estimate, actual, type cost and the cost budget. */
  cost: {
    requested?: number;
    actual?: number;
    typeCost?: number;
    limit?: { limit: number; remaining: number; resetAt: string; window: string };
  } | null;
  limits: RateLimitInfo;
  /** The first error code, when the whole request was refused (`RATE_LIMITED`, `UNAUTHENTICATED`, ...). */
  refusal: string | null;
  at: number;
}

export function exchangeOf(operationName: string | null, response: Response, body: unknown): Exchange {
  const result = (body ?? {}) as { data?: unknown; errors?: { extensions?: { code?: string } }[]; extensions?: { cost?: Exchange['cost'] } };
  return {
    operationName,
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    cost: result.extensions?.cost ?? null,
    limits: readRateLimit(response.headers),
    refusal: result.data === undefined ? (result.errors?.[0]?.extensions?.code ?? null) : null,
    at: Date.now(),
  };
}
