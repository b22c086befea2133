/**
 * How a usage store reads its hashes; each call is one round trip (or a few, for very many keys).
 * Its own file: the queries (queries.ts) and the anomaly rule (anomalies.ts) both read through
 * it, and the queries call the rule.
 */
export interface HashReader {
  /** The hash at each key, in order ({} for a missing key). */
  read(keys: readonly string[]): Promise<Record<string, string>[]>;
  /** One field of each key's hash, in order (null when missing). */
  readField(keys: readonly string[], field: string): Promise<(string | null)[]>;
  /** Some fields of each key's hash, in order, each in the order of `fields` (null when missing). */
  readFields(keys: readonly string[], fields: readonly string[]): Promise<(string | null)[][]>;
}
