import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * OpenTelemetry's context for the synchronous extent of `with` only, like the SDK's web
 * `StackContextManager`, instead of the Node SDK's default AsyncLocalStorage. On Node 20 an
 * AsyncLocalStorage in use installs promise hooks for every promise of the process, sampled
 * request or not: the `tracing` bench measured +16 % (alone) to +27 % (32 concurrent) gateway CPU
 * per request at 10 % sampling, as much as at 100 %, and about 1 % without it. So the request
 * path carries its trace explicitly where work continues asynchronously (route-spans.ts keeps
 * each request's context; the operation plugin, the limit decision and downstream calls look it
 * up), and this manager only covers what runs synchronously below a `with`: a span's own
 * children started at once, and ioredis publishing a command as it is sent (redis-spans.ts).
 */
export class SyncContextManager implements ContextManager {
  #active: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.#active;
    this.#active = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = ROOT_CONTEXT;
    return this;
  }
}
