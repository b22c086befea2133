/**
 * The one grammar of an object id the gateway sends downstream, looks up by, and tags cache
 * entries with. Batch endpoints split `?ids=` on commas and trim each id (the sample services do,
 * as most REST services do), so an id holding a comma or whitespace would name other objects, or
 * the same object under another spelling: `"cus_7,cus_8"`, `" cus_18"`, `"cus_18,"`. Such ids are
 * refused at the edge (BAD_USER_INPUT) rather than encoded, because no encoding is safe against
 * every service's splitting and trimming, and no real id holds them. An id is therefore its own
 * canonical form: equal ids are equal strings, in keys, tags and downstream calls alike.
 */
const CANONICAL_ID = /^[^\s,\p{Cc}\p{Cf}]{1,200}$/u;

/** Longest accepted id, in characters. */
export const MAX_ID_LENGTH = 200;

export function isCanonicalId(id: unknown): id is string {
  return typeof id === 'string' && CANONICAL_ID.test(id);
}

/** What a refused id breaks, for error messages: names the rule and the bad value. */
export function idProblem(argument: string, id: unknown): string {
  if (typeof id === 'string' && id.length > MAX_ID_LENGTH) return `${argument} must be at most ${MAX_ID_LENGTH} characters: ${id.length}`;
  return `${argument} must be one id, without commas, whitespace or control characters: ${JSON.stringify(id)}`;
}
