import type { GraphQLSchema } from 'graphql';
import type { CostAnalyzer } from '../cost/analyzer.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../stores/redis.js';
import { createCalibrationRollup } from './fleet-rollup.js';
import { createCalibrationRecorder, type AnsweredOperation } from './recorder.js';
import { calibrationReport, type CalibrationReport, type ReportOptions } from './report.js';

export interface Calibration {
  /** Feeds one answered request; absent when calibration is off, so the request path skips it with one check. */
  observe?: (answered: AnsweredOperation) => void;
  /**
   * The report: list fields from the fleet's rollup when there is Redis (this instance's when it
   * cannot be read), operations priced again from this instance's. Empty when off.
   */
  report(options?: ReportOptions): Promise<CalibrationReport & { fieldsFrom: 'fleet' | 'instance' }>;
  /** Stops the rollup's timer (nothing is awaited: see fleet-rollup.ts `close`). */
  close(): void;
}

/** Cost calibration as the gateway wires it: the recorder on the request path, the fleet rollup, the report for `costCalibration`. */
export function createCalibration(options: {
  enabled: boolean;
  schema: GraphQLSchema;
  analyzer: CostAnalyzer;
  sampleEvery: number;
  maxOperations: number;
  /** Shared by the fleet's instances; null: this instance's observations only. */
  redis: RedisClient | null;
  rollupIntervalMs: number;
  logger: Logger;
}): Calibration {
  const { schema, logger } = options;
  if (!options.enabled) {
    const empty = { responses: 0, fields: [], operations: [], operationsDropped: 0 };
    return { report: async (o) => ({ ...calibrationReport(schema, empty, o), fieldsFrom: 'instance' }), close: () => {} };
  }
  const recorder = createCalibrationRecorder({ ...options, onError: (err) => logger.error({ err }, 'cost calibration failed to observe a response') });
  const rollup = options.redis
    ? createCalibrationRollup({ redis: options.redis, fields: () => recorder.observations().fields, logger, intervalMs: options.rollupIntervalMs })
    : null;
  return {
    observe: recorder.observe,
    async report(o) {
      const local = recorder.observations();
      if (!rollup) return { ...calibrationReport(schema, local, o), fieldsFrom: 'instance' };
      try {
        await rollup.push();
        const fields = await rollup.read();
        return { ...calibrationReport(schema, { ...local, fields }, o), fieldsFrom: 'fleet' };
      } catch (err) {
        logger.warn({ err }, 'cost calibration: the fleet rollup cannot be read; reporting this instance only');
        return { ...calibrationReport(schema, local, o), fieldsFrom: 'instance' };
      }
    },
    close: () => rollup?.close(),
  };
}
