/** One distinct operation seen (text, operation name and variables), to price again under suggested sizes. */
export interface OperationSample {
  query: string;
  operationName: string | null;
  variables: Record<string, unknown>;
  requests: number;
  /** The field cost estimated for it (the same for every request: same text, same variables). */
  estimated: number;
  /** Sum of the actual field costs of its requests; their mean is what its ratio divides by. */
  actualSum: number;
}

/** Query texts longer than this are not kept (a calibration sample, not an archive), 16 KiB. */
const MAX_QUERY_CHARS = 16 * 1024;

/**
 * Distinct operations, at most `max` (default 1,000): past it, requests of new operations are
 * counted in `dropped` and not kept. Memory is bounded by max × (16 KiB + variables).
 */
export function createOperationSamples(max = 1000) {
  /**
   * By query text, then operation name and variables: one lookup hashes the text (every request
   * has its own copy of it), none builds a key holding it (a copy of the whole text per request).
   */
  const byQuery = new Map<string, Map<string, OperationSample>>();
  let size = 0;
  let dropped = 0;
  return {
    add(query: string, operationName: string | null, variables: Record<string, unknown>, estimated: number, actual: number): void {
      if (query.length > MAX_QUERY_CHARS) {
        dropped += 1;
        return;
      }
      let ofQuery = byQuery.get(query);
      const key = `${operationName ?? ''}\u0000${isEmpty(variables) ? '' : JSON.stringify(variables)}`;
      let sample = ofQuery?.get(key);
      if (!sample) {
        if (size >= max) {
          dropped += 1;
          return;
        }
        sample = { query, operationName, variables, requests: 0, estimated, actualSum: 0 };
        if (!ofQuery) {
          ofQuery = new Map();
          byQuery.set(query, ofQuery);
        }
        ofQuery.set(key, sample);
        size += 1;
      }
      sample.requests += 1;
      sample.actualSum += actual;
    },
    snapshot(): { samples: OperationSample[]; dropped: number } {
      const samples: OperationSample[] = [];
      for (const ofQuery of byQuery.values()) for (const s of ofQuery.values()) samples.push({ ...s });
      return { samples, dropped };
    },
  };
}

function isEmpty(variables: Record<string, unknown>): boolean {
  for (const _ in variables) return false;
  return true;
}
