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
  const samples = new Map<string, OperationSample>();
  let dropped = 0;
  return {
    add(query: string, operationName: string | null, variables: Record<string, unknown>, estimated: number, actual: number): void {
      if (query.length > MAX_QUERY_CHARS) {
        dropped += 1;
        return;
      }
      const key = `${operationName ?? ''}\u0000${query}\u0000${JSON.stringify(variables)}`;
      let sample = samples.get(key);
      if (!sample) {
        if (samples.size >= max) {
          dropped += 1;
          return;
        }
        sample = { query, operationName, variables, requests: 0, estimated, actualSum: 0 };
        samples.set(key, sample);
      }
      sample.requests += 1;
      sample.actualSum += actual;
    },
    snapshot(): { samples: OperationSample[]; dropped: number } {
      return { samples: [...samples.values()].map((s) => ({ ...s })), dropped };
    },
  };
}
