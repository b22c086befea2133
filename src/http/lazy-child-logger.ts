import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

/**
 * Fastify's per-request child logger, made only when something logs. Fastify builds one for
 * every request (pino serializes its `reqId` binding at once), and almost no request logs:
 * under a flood of refusals that was a few µs of every request's CPU for nothing. A class, so a
 * request costs one small object and no closures (six per request were visible in a profile).
 */
class LazyChildLogger {
  #child: FastifyBaseLogger | undefined;
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Record<string, unknown>;

  constructor(parent: FastifyBaseLogger, bindings: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
  info(...args: unknown[]): void {
    (this.#real().info as (...a: unknown[]) => void)(...args);
  }
  error(...args: unknown[]): void {
    (this.#real().error as (...a: unknown[]) => void)(...args);
  }
  debug(...args: unknown[]): void {
    (this.#real().debug as (...a: unknown[]) => void)(...args);
  }
  fatal(...args: unknown[]): void {
    (this.#real().fatal as (...a: unknown[]) => void)(...args);
  }
  warn(...args: unknown[]): void {
    (this.#real().warn as (...a: unknown[]) => void)(...args);
  }
  trace(...args: unknown[]): void {
    (this.#real().trace as (...a: unknown[]) => void)(...args);
  }
  silent(): void {}
  child(more: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(more, options);
  }
}

export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>): FastifyBaseLogger {
  return new LazyChildLogger(parent, bindings) as unknown as FastifyBaseLogger;
}
