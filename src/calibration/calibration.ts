import type { GraphQLSchema } from 'graphql';
import type { CostAnalyzer } from '../cost/analyzer.js';
import { createCalibrationRecorder, type AnsweredOperation } from './recorder.js';
import { calibrationReport, type CalibrationReport, type ReportOptions } from './report.js';

export interface Calibration {
  /** Feeds one answered request; absent when calibration is off, so the request path skips it with one check. */
  observe?: (answered: AnsweredOperation) => void;
  /** The report of what this instance observed (empty when off). */
  report(options?: ReportOptions): CalibrationReport;
}

/** Cost calibration as the gateway wires it: the recorder on the request path, the report for `costCalibration`. */
export function createCalibration(options: {
  enabled: boolean;
  schema: GraphQLSchema;
  analyzer: CostAnalyzer;
  sampleEvery: number;
  maxOperations: number;
  onError: (err: unknown) => void;
}): Calibration {
  const empty = { responses: 0, fields: [], operations: [], operationsDropped: 0 };
  if (!options.enabled) return { report: (o) => calibrationReport(options.schema, empty, o) };
  const recorder = createCalibrationRecorder(options);
  return {
    observe: recorder.observe,
    report: (o) => calibrationReport(options.schema, recorder.observations(), o),
  };
}
