import type { FastifyBaseLogger } from 'fastify';

type LogMethod = 'info' | 'error' | 'debug' | 'fatal' | 'warn' | 'trace';

/**
 * Fastify's per-request child logger, made only when something logs. Fastify builds one for
 * every request (pino serializes its `reqId` binding at once), and almost no request logs:
 * under a flood of refusals that was a few µs of every request's CPU for nothing.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  const real = () => (child ??= parent.child(bindings));
  const forward =
    (method: LogMethod) =>
    (...args: unknown[]): void =>
      (real()[method] as (...a: unknown[]) => void)(...args);
  return {
    get level() {
      return parent.level;
    },
    set level(level: string) {
      real().level = level;
    },
    info: forward('info'),
    error: forward('error'),
    debug: forward('debug'),
    fatal: forward('fatal'),
    warn: forward('warn'),
    trace: forward('trace'),
    silent: () => {},
    child: (more, options) => real().child(more, options),
  } as FastifyBaseLogger;
}
