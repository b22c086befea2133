/**
 * A canonical text for a field's coerced argument values: object keys sorted, arrays in order,
 * strings and numbers as JSON writes them. graphql-js hands resolvers arguments already coerced
 * (variables substituted, defaults applied, enum values resolved), and leaves an argument or
 * input field the caller did not give out of the object, so an absent value (no key) and an
 * explicit null (`"k":null`) encode differently, and a literal and a variable with the same value
 * encode the same. Throws on anything JSON cannot hold (a custom scalar's Date, a BigInt, NaN):
 * such a field is then not cached rather than keyed ambiguously.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot key a cache entry on the number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      if (!hasPlainPrototype(value)) throw new TypeError(`cannot key a cache entry on a ${value.constructor?.name ?? 'non-plain'} object`);
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        // graphql-js never sets an argument to undefined; treat one as absent, as JSON does.
        if (record[key] === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`cannot key a cache entry on a ${typeof value}`);
  }
}

/**
 * Whether `value` survives a JSON round trip unchanged, so a cached copy resolves exactly like the
 * original: null, booleans, strings, finite numbers, arrays and plain objects of those, nothing
 * else (no functions, class instances, Errors in a list, Dates, undefined in arrays). A resolver
 * returning anything else is served but not cached.
 */
export function isPlainJson(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
      if (!hasPlainPrototype(value)) return false;
      // An undefined property is fine: JSON drops it and the default resolver reads undefined either way.
      return Object.values(value as Record<string, unknown>).every((item) => item === undefined || isPlainJson(item, depth + 1));
    default:
      return false;
  }
}

function hasPlainPrototype(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  // graphql-js builds argument objects with Object.create(null).
  return proto === Object.prototype || proto === null;
}
