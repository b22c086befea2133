import type { TenantPrincipal } from '../auth/principal.js';
import type { LimitDimension } from './dimensions.js';
import type { DecisionSource } from './limiter.js';
import type { LimitDecision } from './store/types.js';

/** Told about every limit decision (metrics, alerts); must be cheap and must not throw. */
export type LimitObserver = (event: {
  principal: TenantPrincipal;
  planId: string;
  dims: LimitDimension[];
  decision: LimitDecision;
  source: DecisionSource;
  durationMs: number;
}) => void;
