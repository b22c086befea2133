import type { Scenario } from './scenario.js';
import { cacheScenario } from './scenarios/cache.js';
import { calibrationReplayScenario } from './scenarios/calibration-replay.js';
import { dashboardScenario } from './scenarios/dashboard.js';
import { exactnessScenario } from './scenarios/exactness.js';
import { graduatedScenario } from './scenarios/graduated.js';
import { limitsScenario } from './scenarios/limits.js';
import { meteringScenario } from './scenarios/metering.js';
import { overheadScenario } from './scenarios/overhead.js';
import { noisyNeighbourScenario } from './scenarios/noisy-neighbour.js';
import { priorityScenario } from './scenarios/priority.js';
import { runtimeScenario } from './scenarios/runtime.js';
import { replayScenario } from './scenarios/replay.js';
import { scaleScenario } from './scenarios/scale.js';
import { sheddingScenario } from './scenarios/shedding.js';
import { tracingScenario } from './scenarios/tracing.js';

/**
 * Every scenario, in the order `npm run bench` runs them. A new scenario is one file under
 * `bench/scenarios/` and one line here.
 */
export const SCENARIOS: readonly Scenario[] = [
  limitsScenario,
  overheadScenario,
  runtimeScenario,
  cacheScenario,
  meteringScenario,
  exactnessScenario,
  dashboardScenario,
  scaleScenario,
  noisyNeighbourScenario,
  sheddingScenario,
  priorityScenario,
  tracingScenario,
  graduatedScenario,
  replayScenario,
  calibrationReplayScenario,
];
