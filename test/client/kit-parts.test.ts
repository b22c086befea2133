import { describe, expect, it } from 'vitest';
import { operationTypeOf } from '../../src/client/operation.js';
import { PriorityQueue } from '../../src/client/priority-queue.js';
import { readRateLimit, retryAfterOf } from '../../src/client/rate-limit-headers.js';
import { RETRY_DEFAULTS, retryDelayMs } from '../../src/client/retry.js';

describe('client kit parts', () => {
  it('reads the gateway RateLimit headers into policies with absolute reset times', () => {
    const headers = new Headers({
      'ratelimit-policy': '"minute";q=100;w=60, "Mutation.placeOrder";q=20;w=60, "day";q=1000;w=86400',
      ratelimit: '"minute";r=42;t=17, "Mutation.placeOrder";r=0;t=60, "day";r=900;t=3600',
      'retry-after': '60',
    });
    const info = readRateLimit(headers, 1_000_000);
    expect(info).toEqual({
      policies: [
        { name: 'minute', quota: 100, windowSeconds: 60, remaining: 42, resetAt: 1_017_000 },
        { name: 'Mutation.placeOrder', quota: 20, windowSeconds: 60, remaining: 0, resetAt: 1_060_000 },
        { name: 'day', quota: 1000, windowSeconds: 86400, remaining: 900, resetAt: 4_600_000 },
      ],
      retryAfterSeconds: 60,
      exempt: null,
    });
    expect(readRateLimit(new Headers({ 'x-ratelimit-exempt': 'service-token' }))).toMatchObject({ policies: [], exempt: 'service-token' });
    expect(retryAfterOf('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10);
    expect(retryAfterOf('soon')).toBeNull();
  });

  it('tells queries from mutations, ignoring comments and strings, by operation name', () => {
    expect(operationTypeOf('{ products { name } }')).toBe('query');
    expect(operationTypeOf('query Q($a: Int = 1) { a }')).toBe('query');
    expect(operationTypeOf('# mutation in a comment\nquery { a(s: "mutation { x }") }')).toBe('query');
    expect(operationTypeOf('mutation M { placeOrder { id } }')).toBe('mutation');
    const two = 'query A { a } mutation B($i: In = {x: 1}) { b } fragment F on Query { a }';
    expect(operationTypeOf(two, 'B')).toBe('mutation');
    expect(operationTypeOf(two, 'A')).toBe('query');
    // Ambiguous or unknown: null, which the client treats as not idempotent.
    expect(operationTypeOf(two)).toBeNull();
    expect(operationTypeOf(two, 'C')).toBeNull();
  });

  it('waits at least Retry-After, jitter on top, and gives up on a Retry-After above the cap', () => {
    expect(retryDelayMs(1, 2, RETRY_DEFAULTS, () => 0)).toBe(2000);
    expect(retryDelayMs(1, 2, RETRY_DEFAULTS, () => 0.999)).toBeCloseTo(2000 + 0.999 * 400);
    expect(retryDelayMs(3, null, RETRY_DEFAULTS, () => 0.5)).toBe(0.5 * 1600);
    expect(retryDelayMs(10, null, RETRY_DEFAULTS, () => 0.5)).toBe(0.5 * 10_000);
    expect(retryDelayMs(1, 61, RETRY_DEFAULTS)).toBeNull();
  });

  it('queues by priority, first come first served within one', () => {
    const queue = new PriorityQueue<{ priority: 'high' | 'normal' | 'low'; id: number }>();
    for (const [id, priority] of [
      [1, 'low'],
      [2, 'normal'],
      [3, 'high'],
      [4, 'normal'],
      [5, 'high'],
    ] as const)
      queue.push({ id, priority });
    expect(queue.values().map((v) => v.id)).toEqual([3, 5, 2, 4, 1]);
  });
});
