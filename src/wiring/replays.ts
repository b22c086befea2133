import type { GraphQLSchema } from 'graphql';
import { createCalibration, type Calibration } from '../calibration/calibration.js';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import type { CostAnalyzer } from '../cost/analyzer.js';
import type { OverridesStore } from '../limits/overrides.js';
import type { Logger } from '../observability/logger.js';
import type { RequestRecordParts } from '../record/request-record-parts.js';
import { createPlanReplay, type PlanReplay } from '../replay/plan-replay.js';
import { createReplaySlot } from '../replay/replay-slot.js';
import type { RedisClient } from '../stores/redis.js';

export interface Replays {
  calibration: Calibration;
  /** The What if page's replay of proposed plans. */
  planReplay: PlanReplay;
}

/**
 * Cost calibration (calibration/): list lengths returned against the sizes the estimate priced;
 * and the two replays of the request record (What if, cost calibration's), one at a time per
 * instance of either kind.
 */
export function createReplays(deps: {
  config: ConfigSource;
  initial: Config;
  schema: GraphQLSchema;
  costAnalyzer: CostAnalyzer;
  redis: RedisClient | null;
  record: RequestRecordParts | null;
  /** An admin's runtime overrides alone: the replays apply them over the plans they replay. */
  adminOverrides: OverridesStore;
  logger: Logger;
}): Replays {
  const { config, record, adminOverrides } = deps;
  const replaySlot = createReplaySlot();
  const calibration = createCalibration({
    ...deps.initial.calibration,
    schema: deps.schema,
    analyzer: deps.costAnalyzer,
    redis: deps.redis,
    logger: deps.logger,
    record: record ? { store: record.store, operations: record.operations } : null,
    config: () => config.current(),
    overrides: () => adminOverrides.list(),
    replaySlot,
  });
  const planReplay = createPlanReplay({
    store: record?.store ?? null,
    config: () => config.current(),
    overrides: () => adminOverrides.list(),
    slot: replaySlot,
  });
  return { calibration, planReplay };
}
