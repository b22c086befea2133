import type { DocumentNode } from 'graphql';
import type { CostAnalyzer } from '../cost/analyzer.js';
import { createFieldStats, type FieldStats } from './field-stats.js';
import { visitLists } from './list-sizes.js';
import { createOperationSamples, type OperationSample } from './operation-samples.js';

export interface CalibrationRecorderOptions {
  analyzer: CostAnalyzer;
  /** Observe one response in this many, default 1 (all). Walking a response costs about what its actual cost does. */
  sampleEvery?: number;
  /** Distinct operations kept for pricing again, default 1,000. */
  maxOperations?: number;
  /** Told when observing a response failed (a bug here must never fail the request). */
  onError?: (err: unknown) => void;
}

/** One priced, executed request, as the response is sent. */
export interface AnsweredOperation {
  document: DocumentNode;
  operationName: string | null | undefined;
  variables: Record<string, unknown> | null | undefined;
  data: unknown;
  /** The estimate (field cost) it was charged. */
  estimated: number;
  actual: number;
}

/** Everything observed so far: the input of `calibration/report.ts`. */
export interface CalibrationObservations {
  /** Responses observed (after sampling). */
  responses: number;
  fields: FieldStats[];
  operations: OperationSample[];
  /** Observed responses whose operation was not kept (over `maxOperations`, or text over 16 KiB). */
  operationsDropped: number;
}

export interface CalibrationRecorder {
  /** Synchronous and cheap when not sampled; never throws. */
  observe(answered: AnsweredOperation): void;
  observations(): CalibrationObservations;
}

/**
 * Cost calibration's in-process recorder: per list field the lengths actually returned next to
 * the size the estimate priced, and per distinct operation its estimate and actual costs.
 */
export function createCalibrationRecorder(options: CalibrationRecorderOptions): CalibrationRecorder {
  const sampleEvery = options.sampleEvery ?? 1;
  if (!Number.isSafeInteger(sampleEvery) || sampleEvery < 1) throw new Error(`sampleEvery must be a positive integer: ${sampleEvery}`);
  const fields = createFieldStats();
  const operations = createOperationSamples(options.maxOperations);
  let seen = 0;
  let responses = 0;
  return {
    observe(answered) {
      seen += 1;
      if (seen % sampleEvery !== 0) return;
      try {
        const { document, operationName, data } = answered;
        const variables = answered.variables ?? {};
        const compiled = options.analyzer.compiled(document, operationName, variables);
        visitLists(compiled.plan, compiled.variables, compiled.defaultListSize, data, fields.add);
        const query = document.loc?.source.body;
        if (query !== undefined) operations.add(query, operationName ?? null, variables, answered.estimated, answered.actual);
        responses += 1;
      } catch (err) {
        options.onError?.(err);
      }
    },
    observations() {
      const { samples, dropped } = operations.snapshot();
      return { responses, fields: fields.snapshot(), operations: samples, operationsDropped: dropped };
    },
  };
}
