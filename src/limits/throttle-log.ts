import type { Logger } from '../observability/logger.js';

export interface ThrottleEvent {
  tenantId: string;
  plan: string;
  clientId: string;
  ip: string;
  operation: string | null;
  dimension: string;
  policy: string;
}

/**
 * Logs throttling decisions without letting an attack flood the log: the first `perMinute`
 * decisions per tenant in each minute are logged one by one, the rest only counted and reported
 * in one line when that tenant's next minute starts. Memory: one small entry per tenant throttled
 * in the current minute.
 */
export function createThrottleLog(logger: Logger, perMinute: () => number, now: () => number = Date.now) {
  let minute = Math.floor(now() / 60_000);
  let counts = new Map<string, { logged: number; suppressed: number }>();

  function rollOver(current: number): void {
    if (current === minute) return;
    for (const [tenantId, c] of counts) {
      if (c.suppressed > 0) logger.warn({ tenantId, suppressed: c.suppressed }, 'more throttling decisions in the previous minute (not logged one by one)');
    }
    counts = new Map();
    minute = current;
  }

  return {
    record(event: ThrottleEvent): void {
      rollOver(Math.floor(now() / 60_000));
      const c = counts.get(event.tenantId) ?? { logged: 0, suppressed: 0 };
      counts.set(event.tenantId, c);
      if (c.logged < perMinute()) {
        c.logged++;
        logger.warn(event, 'request throttled');
      } else {
        c.suppressed++;
      }
    },
  };
}
