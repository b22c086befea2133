/**
 * Context members that belong to the caller: its principal (tenant, role, key), its tenant-bound
 * loaders, its address. A PUBLIC value must not depend on any of them.
 */
const CALLER_BOUND = new Set<PropertyKey>(['principal', 'loaders', 'ip']);

/**
 * The context a PUBLIC field's resolver runs with on a miss: the real one, behind a proxy that
 * notes any read of a caller-bound member. A PUBLIC resolver that reads the tenant is not an
 * error: its value is not stored in the public namespace, and the field is cached per tenant
 * (TENANT) from then on in this instance (see field-cache.ts). Detected on use because no start-up
 * check can see what a resolver reads.
 */
export function trackCallerReads<C extends object>(ctx: C): { ctx: C; readCaller(): boolean } {
  let read = false;
  const proxy = new Proxy(ctx, {
    get(target, property, receiver) {
      if (CALLER_BOUND.has(property)) read = true;
      return Reflect.get(target, property, receiver);
    },
  });
  return { ctx: proxy, readCaller: () => read };
}
