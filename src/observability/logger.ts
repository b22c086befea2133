import { pino } from 'pino';

export type Logger = pino.Logger;

/** Levels pino knows, plus `silent`, which turns logging off. */
const LEVELS = [...Object.keys(pino.levels.values), 'silent'];

export interface LoggerOptions {
  /** Minimum level; default `LOG_LEVEL`, else `info` (`silent` under vitest when `LOG_LEVEL` is unset). */
  level?: string;
  /** Written as `name` on every line, to tell components apart. */
  name?: string;
}

/**
 * A JSON logger writing one line per entry to stdout. Tests stay quiet unless `LOG_LEVEL` is set,
 * so a failing test's output is not buried under request logs.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  // pino's own error for a bad level does not say where the level came from.
  if (!LEVELS.includes(level)) {
    throw new Error(`log level (LOG_LEVEL) must be one of ${LEVELS.join(', ')}: "${level}"`);
  }
  return pino({ level, ...(options.name === undefined ? {} : { name: options.name }) });
}
