import { pino } from 'pino';
import type { AlertEvent } from '../../src/alerts/events.js';
import type { Logger } from '../../src/observability/logger.js';

/** A real pino logger writing into an array, so tests see exactly what would be logged. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; alerts: () => AlertEvent[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return {
    logger,
    lines,
    alerts: () => lines.filter((l) => l.alert !== undefined).map((l) => l.alert as AlertEvent),
  };
}

/** A settable clock. */
export function manualClock(start: number) {
  let t = start;
  return {
    now: () => t,
    set: (ms: number) => {
      t = ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}
