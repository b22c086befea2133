import { getNullableType, isInputObjectType, isListType, type GraphQLArgument, type GraphQLInputField, type GraphQLInputType } from 'graphql';
import type { CostIndex } from './directives.js';

/**
 * The cost of one argument (or directive argument) as given: its weight, plus the cost of every
 * input field given inside it, recursively. Each element of a list counts as one appearance, so
 * a list of three input objects costs three times one. Absent and null values cost nothing.
 */
export function inputValueCost(index: CostIndex, input: GraphQLArgument | GraphQLInputField, value: unknown): number {
  return valueCost(index, index.inputWeight(input), input.type, value);
}

function valueCost(index: CostIndex, weight: number, type: GraphQLInputType, value: unknown): number {
  if (value === null || value === undefined) return 0;
  const nullable: GraphQLInputType = getNullableType(type);
  if (isListType(nullable)) {
    // Input coercion accepts a single value where a list is expected: it is a list of one.
    const items = Array.isArray(value) ? value : [value];
    let sum = 0;
    for (const item of items) sum += valueCost(index, weight, nullable.ofType as GraphQLInputType, item);
    return sum;
  }
  if (isInputObjectType(nullable) && typeof value === 'object') {
    let sum = weight;
    const fields = nullable.getFields();
    for (const [name, fieldValue] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[name];
      if (field && index.inputCanCost(field)) sum += valueCost(index, index.inputWeight(field), field.type, fieldValue);
    }
    return sum;
  }
  return weight;
}
