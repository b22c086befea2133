import { buildSchema, parse, type GraphQLSchema } from 'graphql';
import { createCostAnalyzer, type CostAnalyzer } from '../../src/cost/analyzer.js';

/** The two directive definitions, as `schema/directives.graphql` declares them. */
export const COST_DIRECTIVES = `
  directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(
    assumedSize: Int
    slicingArguments: [String!]
    sizedFields: [String!]
    requireOneSlicingArgument: Boolean = true
  ) on FIELD_DEFINITION
`;

export function schemaOf(sdl: string): GraphQLSchema {
  return buildSchema(COST_DIRECTIVES + sdl);
}

export function analyzerOf(sdl: string, options: { defaultListSize?: number; cacheSize?: number } = {}): CostAnalyzer {
  return createCostAnalyzer({ schema: schemaOf(sdl), ...options });
}

/** Estimate of a query text, with variables. */
export function estimateOf(analyzer: CostAnalyzer, query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  return analyzer.estimate(parse(query), operationName ?? null, variables);
}
