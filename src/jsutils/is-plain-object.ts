/**
 * Whether parsed input (JSON, YAML, a request body or query string) is an object with keys: not
 * null, not an array. It does not look at the prototype, so a class instance passes too; it is
 * meant for values that came from a parser. (cache/canonical.ts's `hasPlainPrototype` asks the
 * stricter question, "is its prototype Object.prototype or null", of values a resolver built.)
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
