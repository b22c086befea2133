import type { GraphQLRequest } from '@apollo/server';
import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import type { CostAnalyzer, CostBreakdownEntry } from './analyzer.js';
import { asksDryRun, DRY_RUN_HEADER } from './dry-run.js';

/**
 * After pricing: the estimate of the operation with its variables, made after validation and
 * before any resolver runs (http/pipeline.ts, the operation gate), for every caller.
 */
export interface PricedOperation {
  /** The estimate: the spec's field cost, what plans are charged. */
  readonly requested: number;
  readonly typeCost: number;
  /** Price only (`x-cost-dry-run: 1`, or `extensions: { dryRun: true }`): nothing executes or is charged. */
  readonly dryRun: boolean;
  /** Dry runs only: the estimate per response path; empty otherwise. */
  readonly breakdown: readonly CostBreakdownEntry[];
}

/** The caller's cost budget after this request's charge (`extensions.cost.limit`), as the limit decision found it. */
export interface CostBudget {
  limit: number;
  remaining: number;
  /** ISO time. */
  resetAt: string;
  /** `1 minute`. */
  window: string;
}

/** What `extensions.cost` of a response holds. */
export interface CostExtension {
  /** The estimate before execution (the spec's field cost). */
  requested: number;
  /** The field cost of the data returned; absent in a dry run. */
  actual?: number;
  typeCost: number;
  /** The caller's cost budget, when a limit decision set one. */
  limit?: CostBudget;
  /** Dry runs only: the estimate per response path. */
  breakdown?: readonly CostBreakdownEntry[];
}

/**
 * Prices a resolved operation. Throws the analyzer's refusal (BAD_USER_INPUT for variables of the
 * wrong type, COST_ANALYSIS_FAILED for slicing arguments the spec refuses), as execution would.
 */
export function priceOperation(analyzer: CostAnalyzer, document: DocumentNode, request: GraphQLRequest): PricedOperation {
  const estimate = analyzer.estimate(document, request.operationName, request.variables);
  const dryRun = asksDryRun(request.http?.headers.get(DRY_RUN_HEADER), request.extensions);
  return { requested: estimate.fieldCost, typeCost: estimate.typeCost, dryRun, breakdown: dryRun ? estimate.breakdown : [] };
}

/**
 * After execution: the actual cost of the data returned (not for a dry run), and `extensions.cost`
 * on `result`. Returns the actual cost; null for a dry run, or when computing it failed (`onError`
 * is told: the response is already made, and a bug here must not turn it into an error).
 */
export function reportCost(input: {
  analyzer: CostAnalyzer;
  priced: PricedOperation;
  budget: CostBudget | null;
  document: DocumentNode;
  request: GraphQLRequest;
  result: { data?: FormattedExecutionResult['data']; extensions?: Record<string, unknown> };
  onError: (err: unknown) => void;
}): number | null {
  const { analyzer, priced, budget, document, request, result } = input;
  let actual: number | null = null;
  if (!priced.dryRun) {
    try {
      actual = analyzer.actual(document, request.operationName, request.variables, result.data);
    } catch (err) {
      input.onError(err);
    }
  }
  // Built field by field in the order clients see (requested, actual, typeCost, limit, breakdown),
  // not with conditional spreads: on every response, and a spread is V8's slow path.
  const extension: CostExtension =
    actual === null ? { requested: priced.requested, typeCost: priced.typeCost } : { requested: priced.requested, actual, typeCost: priced.typeCost };
  if (budget) extension.limit = budget;
  if (priced.dryRun) extension.breakdown = priced.breakdown;
  result.extensions = result.extensions ? { ...result.extensions, cost: extension } : { cost: extension };
  return actual;
}
