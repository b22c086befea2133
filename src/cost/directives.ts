import { getDirective } from '@graphql-tools/utils';
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/** `@listSize` as applied to one field, with the spec's defaults filled in. */
export interface ListSize {
  assumedSize: number | null;
  slicingArguments: string[];
  sizedFields: string[];
  /** Default true (spec); only meaningful when there are slicing arguments. */
  requireOneSlicingArgument: boolean;
}

type Directable = Parameters<typeof getDirective>[1];

/** A decimal number as the spec's `weight: String!` carries it: "10", "2.5", "-3", "1e2". */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The weight a `@cost(weight:)` string stands for, or null when it is not a number. */
export function parseWeight(text: string): number | null {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

/** The raw `@cost(weight:)` string on a schema element, if it has one. */
export function costWeightText(schema: GraphQLSchema, element: Directable): string | undefined {
  const weight = getDirective(schema, element, 'cost')?.[0]?.weight;
  return typeof weight === 'string' ? weight : undefined;
}

/** `@listSize` on a field, or null. */
export function listSizeOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): ListSize | null {
  const args = getDirective(schema, field, 'listSize')?.[0];
  if (!args) return null;
  return {
    assumedSize: typeof args.assumedSize === 'number' ? args.assumedSize : null,
    slicingArguments: Array.isArray(args.slicingArguments) ? (args.slicingArguments as string[]) : [],
    sizedFields: Array.isArray(args.sizedFields) ? (args.sizedFields as string[]) : [],
    requireOneSlicingArgument: args.requireOneSlicingArgument !== false,
  };
}

/**
 * Weights and list sizes of one schema, read once and memoised: the analysis asks for them per
 * compiled field and must not walk directive ASTs on the request path.
 */
export interface CostIndex {
  /** A type's own weight: `@cost` on it, else 1 for composite types, 0 for scalars and enums; abstract types take their possible types' highest. */
  typeWeight(type: GraphQLNamedType): number;
  /** A field's weight: `@cost` on the field, else its return type's weight. */
  fieldWeight(field: GraphQLField<unknown, unknown>): number;
  /** An argument's or input field's weight: `@cost` on it, else its type's weight (input objects 1). */
  inputWeight(input: GraphQLArgument | GraphQLInputField): number;
  /** False when no value given for this argument or input field can cost anything (the analysis then skips it). */
  inputCanCost(input: GraphQLArgument | GraphQLInputField): boolean;
  listSize(field: GraphQLField<unknown, unknown>): ListSize | null;
}

export function createCostIndex(schema: GraphQLSchema): CostIndex {
  const typeWeights = new Map<GraphQLNamedType, number>();
  const fieldWeights = new Map<object, number>();
  const inputCosts = new Map<GraphQLInputObjectType, boolean>();
  const listSizes = new Map<object, ListSize | null>();

  const ownWeight = (element: Directable): number | null => {
    const text = costWeightText(schema, element);
    return text === undefined ? null : parseWeight(text);
  };

  function typeWeight(type: GraphQLNamedType): number {
    let weight = typeWeights.get(type);
    if (weight === undefined) {
      if (isAbstractType(type)) {
        const possible = schema.getPossibleTypes(type);
        weight = possible.length === 0 ? 1 : Math.max(...possible.map(typeWeight));
      } else {
        weight = ownWeight(type) ?? (isCompositeType(type) || isInputObjectType(type) ? 1 : 0);
      }
      typeWeights.set(type, weight);
    }
    return weight;
  }

  function weightOf(element: GraphQLField<unknown, unknown> | GraphQLArgument | GraphQLInputField): number {
    let weight = fieldWeights.get(element);
    if (weight === undefined) {
      weight = ownWeight(element) ?? typeWeight(getNamedType(element.type));
      fieldWeights.set(element, weight);
    }
    return weight;
  }

  function objectCanCost(type: GraphQLInputObjectType): boolean {
    const known = inputCosts.get(type);
    if (known !== undefined) return known;
    inputCosts.set(type, false); // a recursive input type is not counted twice while deciding
    const result = Object.values(type.getFields()).some(inputCanCost);
    inputCosts.set(type, result);
    return result;
  }

  function inputCanCost(input: GraphQLArgument | GraphQLInputField): boolean {
    if (weightOf(input) !== 0) return true;
    const named = getNamedType(input.type);
    return isInputObjectType(named) && objectCanCost(named);
  }

  return {
    typeWeight,
    fieldWeight: weightOf,
    inputWeight: weightOf,
    inputCanCost,
    listSize(field) {
      let size = listSizes.get(field);
      if (size === undefined) {
        size = listSizeOf(schema, field);
        listSizes.set(field, size);
      }
      return size;
    },
  };
}
