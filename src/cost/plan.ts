import type { OperationTypeNode, VariableDefinitionNode } from 'graphql';

/** Coerced variable values of one request. */
export type Variables = Readonly<Record<string, unknown>>;

/** A number known when the operation is compiled, or one that depends on the request's variables. */
export type Amount = number | ((variables: Variables) => number);

export function amountOf(amount: Amount, variables: Variables): number {
  return typeof amount === 'number' ? amount : amount(variables);
}

/** Constants are folded; what depends on variables stays a function, called once per request. */
export function sumAmounts(parts: Amount[]): Amount {
  let constant = 0;
  const dynamic: ((variables: Variables) => number)[] = [];
  for (const part of parts) {
    if (typeof part === 'number') constant += part;
    else dynamic.push(part);
  }
  if (dynamic.length === 0) return constant;
  if (dynamic.length === 1 && constant === 0) return dynamic[0]!;
  return (variables) => {
    let sum = constant;
    for (const part of dynamic) sum += part(variables);
    return sum;
  };
}

/** `@skip(if: $v)` keeps a selection when `$v` is false, `@include(if: $v)` when it is true. */
export interface Condition {
  variable: string;
  value: boolean;
}

/** Conditions that must all hold, sorted by variable; empty means always. */
export type Guard = readonly Condition[];

export function guardHolds(guard: Guard, variables: Variables): boolean {
  for (const condition of guard) {
    if ((variables[condition.variable] === true) !== condition.value) return false;
  }
  return true;
}

/**
 * One response key of one selection set, with every selection of it merged as graphql-js's field
 * collection merges them: it runs once per parent object when any of its guards holds.
 */
export interface PlanField {
  /** Response key (alias or field name). */
  key: string;
  /** Response path from the root, e.g. `customers.nodes.orders`. */
  path: string;
  /** Schema coordinate, e.g. `Customer.orders`. */
  coordinate: string;
  /** Null: always selected. Otherwise selected when at least one guard holds. */
  guards: Guard[] | null;
  /** The field's weight (its own @cost, else its return type's). */
  weight: number;
  /** Cost of the arguments and directive arguments given, per call. */
  args: Amount;
  /** Weight of the returned type, counted per returned instance for the type cost. */
  typeWeight: number;
  /** How many lists wrap the returned type: `[[T]]` is 2. */
  listDepth: number;
  /** The size its @listSize gives (which also checks requireOneSlicingArgument), when it has one. */
  sizing: Amount | null;
  /** Where the size of its own list comes from. */
  sizeFrom: 'own' | 'parent' | 'default' | 'none';
  selection: PlanSelection | null;
}

/** The fields selected when the parent value is of one concrete type. */
export interface PlanBranch {
  typeName: string;
  fields: PlanField[];
}

/** A selection set: one branch for an object type, one per possible type for an abstract type. */
export interface PlanSelection {
  branches: PlanBranch[];
  /** Response keys of `__typename`, to tell an abstract value's type in a response. */
  typenameKeys: string[];
}

/** The compiled formula of one operation: evaluated per request with that request's variables. */
export interface OperationPlan {
  operationType: OperationTypeNode;
  operationName: string | null;
  rootTypeWeight: number;
  root: PlanSelection;
  variableDefinitions: readonly VariableDefinitionNode[];
}
