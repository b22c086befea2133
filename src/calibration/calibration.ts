import type { GraphQLSchema } from 'graphql';
import type { CostAnalyzer } from '../cost/analyzer.js';
import type { Config } from '../config/schema.js';
import { DEFAULT_LIST_SIZE } from '../cost/validate.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { Logger } from '../observability/logger.js';
import type { OperationStore } from '../record/operation-store.js';
import type { RecordStore } from '../record/record-store.js';
import type { ReplaySlot } from '../replay/replay-slot.js';
import type { RedisClient } from '../stores/redis.js';
import { createCalibrationReplay, type CalibrationReplayInput, type CalibrationReplayResult } from './calibration-replay.js';
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
  /**
   * The report's suggestions applied to the recorded requests of a period, against the plans that
   * were live: per tenant near its cost limits, cost refusals and peak use before and after
   * (calibration-replay.ts). BAD_REQUEST when the record is off.
   */
  replay(input: CalibrationReplayInput): Promise<CalibrationReplayResult>;
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
  /** The request record and the operations it names (null when the record is off), for `replay`. */
  record: { store: RecordStore; operations: OperationStore } | null;
  config: () => Config;
  /** Platform admins' runtime limit overrides in force, applied by the replay; default none. */
  overrides?: () => readonly RuntimeOverride[];
  /** One replay at a time per instance, shared with the What if page's. */
  replaySlot?: ReplaySlot;
}): Calibration {
  const { schema, logger } = options;
  const replayOf = (report: Calibration['report']) =>
    createCalibrationReplay({
      records: options.record?.store ?? null,
      operations: options.record?.operations ?? null,
      config: options.config,
      ...(options.overrides ? { overrides: options.overrides } : {}),
      ...(options.replaySlot ? { slot: options.replaySlot } : {}),
      schema,
      // The gateway's analyzer prices with the default list size (cost/validate.ts), as the report does.
      defaultListSize: DEFAULT_LIST_SIZE,
      report,
    }).run;
  if (!options.enabled) {
    const empty = { responses: 0, fields: [], operations: [], operationsDropped: 0 };
    const report: Calibration['report'] = async (o) => ({ ...calibrationReport(schema, empty, o), fieldsFrom: 'instance' });
    return { report, replay: replayOf(report), close: () => {} };
  }
  const recorder = createCalibrationRecorder({ ...options, onError: (err) => logger.error({ err }, 'cost calibration failed to observe a response') });
  const rollup = options.redis
    ? createCalibrationRollup({ redis: options.redis, fields: () => recorder.observations().fields, logger, intervalMs: options.rollupIntervalMs })
    : null;
  const report: Calibration['report'] = async (o) => {
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
  };
  return { observe: recorder.observe, report, replay: replayOf(report), close: () => rollup?.close() };
}
