import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isListType,
  Kind,
  valueFromASTUntyped,
  type ArgumentNode,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { GatewayError } from '../errors/gateway-error.js';
import type { CostIndex, ListSize } from './directives.js';
import { inputValueCost } from './input-cost.js';
import { sumAmounts, type Amount, type Guard, type OperationPlan, type PlanField, type PlanSelection, type Variables } from './plan.js';

interface CompileContext {
  schema: GraphQLSchema;
  index: CostIndex;
  fragments: Record<string, FragmentDefinitionNode>;
  defaultListSize: number;
}

/** A selection set to collect fields from, reached under a guard. */
interface Source {
  selectionSet: SelectionSetNode;
  guard: Guard;
}

/** One selection of a response key. */
interface Entry {
  node: FieldNode;
  guard: Guard;
}

/**
 * Compiles one operation of a validated document into a plan: the document walked once, with the
 * schema's weights and list sizes looked up once, leaving only what depends on variables (list
 * sizes, argument values, @skip/@include) as functions of them.
 */
export function compileOperation(
  schema: GraphQLSchema,
  index: CostIndex,
  fragments: Record<string, FragmentDefinitionNode>,
  operation: OperationDefinitionNode,
  defaultListSize: number,
): OperationPlan {
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) {
    throw new GatewayError('BAD_USER_INPUT', `The schema has no ${operation.operation} type.`, { setHttpStatus: true });
  }
  const ctx: CompileContext = { schema, index, fragments, defaultListSize };
  return {
    operationType: operation.operation,
    operationName: operation.name?.value ?? null,
    rootTypeWeight: index.typeWeight(rootType),
    root: compileSelection(ctx, rootType, [{ selectionSet: operation.selectionSet, guard: [] }], '', null),
    variableDefinitions: operation.variableDefinitions ?? [],
  };
}

function compileSelection(
  ctx: CompileContext,
  type: GraphQLCompositeType,
  sources: Source[],
  parentPath: string,
  sizedFields: ReadonlySet<string> | null,
): PlanSelection {
  const runtimeTypes = isAbstractType(type) ? ctx.schema.getPossibleTypes(type) : [type];
  const typenameKeys = new Set<string>();
  const branches = runtimeTypes.map((runtimeType) => {
    const fields: PlanField[] = [];
    for (const [key, entries] of collectFields(ctx, runtimeType, sources)) {
      const name = entries[0]!.node.name.value;
      if (name === '__typename') typenameKeys.add(key);
      // Meta fields (__typename, __schema, __type) have no weight in the schema: not charged.
      if (name.startsWith('__')) continue;
      const field = runtimeType.getFields()[name];
      if (field) fields.push(compileField(ctx, runtimeType, field, key, entries, parentPath, sizedFields));
    }
    return { typeName: runtimeType.name, fields };
  });
  return { branches, typenameKeys: [...typenameKeys] };
}

/**
 * graphql-js's CollectFields for one runtime type, except that @skip/@include with a variable
 * becomes a guard instead of being decided here: selections are grouped by response key in
 * document order, fragments whose type condition does not apply to the runtime type are left out.
 */
function collectFields(ctx: CompileContext, runtimeType: GraphQLObjectType, sources: Source[]): Map<string, Entry[]> {
  const groups = new Map<string, Entry[]>();
  const visited = new Set<string>();
  const applies = (typeName: string | undefined) => {
    if (typeName === undefined || typeName === runtimeType.name) return true;
    const conditionType = ctx.schema.getType(typeName);
    return conditionType !== undefined && isAbstractType(conditionType) && ctx.schema.isSubType(conditionType, runtimeType);
  };
  const walk = (selectionSet: SelectionSetNode, outer: Guard) => {
    for (const selection of selectionSet.selections) {
      const guard = withConditions(outer, selection.directives);
      if (guard === null) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const group = groups.get(key);
        if (group) group.push({ node: selection, guard });
        else groups.set(key, [{ node: selection, guard }]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value)) walk(selection.selectionSet, guard);
      } else {
        const fragment = ctx.fragments[selection.name.value];
        // The same fragment under the same guard adds nothing new (graphql-js visits it once).
        const visitKey = `${selection.name.value}|${guardKey(guard)}`;
        if (!fragment || visited.has(visitKey) || !applies(fragment.typeCondition.name.value)) continue;
        visited.add(visitKey);
        walk(fragment.selectionSet, guard);
      }
    }
  };
  for (const source of sources) walk(source.selectionSet, source.guard);
  return groups;
}

/** The guard with a selection's @skip/@include added; null when it can never be selected. */
function withConditions(guard: Guard, directives: readonly DirectiveNode[] | undefined): Guard | null {
  let result = guard;
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const keepWhen = name === 'include';
    if (value?.kind === Kind.BOOLEAN) {
      if (value.value !== keepWhen) return null;
    } else if (value?.kind === Kind.VARIABLE) {
      const variable = value.name.value;
      const existing = result.find((c) => c.variable === variable);
      if (existing) {
        if (existing.value !== keepWhen) return null;
      } else {
        result = [...result, { variable, value: keepWhen }].sort((a, b) => (a.variable < b.variable ? -1 : 1));
      }
    }
  }
  return result;
}

function guardKey(guard: Guard): string {
  return guard.map((c) => `${c.value ? '+' : '-'}${c.variable}`).join(',');
}

function compileField(
  ctx: CompileContext,
  parentType: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  key: string,
  entries: Entry[],
  parentPath: string,
  sizedFields: ReadonlySet<string> | null,
): PlanField {
  // Merged selections have the same arguments (validation: OverlappingFieldsCanBeMerged); the
  // directives of the first one are charged.
  const node = entries[0]!.node;
  const path = parentPath ? `${parentPath}.${key}` : key;
  const coordinate = `${parentType.name}.${field.name}`;
  const guards = entries.some((e) => e.guard.length === 0) ? null : distinctGuards(entries);
  const directiveCosts = (node.directives ?? []).map((d) => {
    const definition = ctx.schema.getDirective(d.name.value);
    return definition ? compileArguments(ctx, definition.args, d.arguments) : 0;
  });
  const listSize = ctx.index.listSize(field);
  const listDepth = listDepthOf(field.type);
  const named = getNamedType(field.type);
  const sizesChildren = listSize !== null && listSize.sizedFields.length > 0;
  const children = entries.flatMap((e) => (e.node.selectionSet ? [{ selectionSet: e.node.selectionSet, guard: e.guard }] : []));
  return {
    key,
    path,
    coordinate,
    guards,
    weight: ctx.index.fieldWeight(field),
    args: sumAmounts([compileArguments(ctx, field.args, node.arguments), ...directiveCosts]),
    typeWeight: ctx.index.typeWeight(named),
    listDepth,
    sizing: listSize ? compileSizing(ctx, listSize, field, node, coordinate, path) : null,
    sizeFrom: listDepth === 0 ? 'none' : sizedFields?.has(field.name) ? 'parent' : listSize && !sizesChildren ? 'own' : 'default',
    selection: isCompositeType(named) ? compileSelection(ctx, named, children, path, sizesChildren ? new Set(listSize.sizedFields) : null) : null,
  };
}

function distinctGuards(entries: Entry[]): Guard[] {
  const seen = new Map<string, Guard>();
  for (const { guard } of entries) seen.set(guardKey(guard), guard);
  return [...seen.values()];
}

function listDepthOf(type: GraphQLOutputType): number {
  let depth = 0;
  let current: GraphQLOutputType = type;
  for (;;) {
    const nullable: GraphQLOutputType = getNullableType(current);
    if (!isListType(nullable)) return depth;
    depth += 1;
    current = nullable.ofType as GraphQLOutputType;
  }
}

/** The cost of the arguments given: constant for literals, a function where variables appear. */
function compileArguments(ctx: CompileContext, definitions: readonly GraphQLArgument[], nodes: readonly ArgumentNode[] | undefined): Amount {
  const parts: Amount[] = [];
  for (const node of nodes ?? []) {
    const definition = definitions.find((d) => d.name === node.name.value);
    if (!definition || !ctx.index.inputCanCost(definition)) continue;
    const value = node.value;
    parts.push(
      hasVariable(value)
        ? (variables: Variables) => inputValueCost(ctx.index, definition, valueFromASTUntyped(value, variables))
        : inputValueCost(ctx.index, definition, valueFromASTUntyped(value)),
    );
  }
  return sumAmounts(parts);
}

function hasVariable(value: ValueNode): boolean {
  switch (value.kind) {
    case Kind.VARIABLE:
      return true;
    case Kind.LIST:
      return value.values.some(hasVariable);
    case Kind.OBJECT:
      return value.fields.some((f) => hasVariable(f.value));
    default:
      return false;
  }
}

/**
 * The list size @listSize gives a field: the largest slicing argument given (literal or
 * variable); when none is given, the largest schema default of the slicing arguments; else
 * `assumedSize`; else the default list size. With `requireOneSlicingArgument` (the default),
 * several slicing arguments given, or none given and none defaulted, is an error.
 */
function compileSizing(
  ctx: CompileContext,
  listSize: ListSize,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  coordinate: string,
  path: string,
): Amount {
  const slots = listSize.slicingArguments.map((name) => {
    const defaultValue = field.args.find((a) => a.name === name)?.defaultValue;
    const valueNode = node.arguments?.find((a) => a.name.value === name)?.value ?? null;
    return {
      name,
      valueNode,
      literal: valueNode && valueNode.kind !== Kind.VARIABLE ? valueFromASTUntyped(valueNode) : undefined,
      defaultValue: typeof defaultValue === 'number' ? defaultValue : null,
    };
  });
  const requireOne = listSize.requireOneSlicingArgument && slots.length > 0;
  const fallback = listSize.assumedSize ?? ctx.defaultListSize;
  const names = slots.map((s) => s.name).join(', ');
  const fail = (problem: string): never => {
    throw new GatewayError(
      'COST_ANALYSIS_FAILED',
      `${coordinate} at "${path}" takes exactly one of its slicing arguments (${names}) to size its list, but ${problem}.`,
      { setHttpStatus: true, extensions: { coordinate, path } },
    );
  };

  const size = (variables: Variables): number => {
    const given: [string, number][] = [];
    const defaults: number[] = [];
    for (const slot of slots) {
      let value: unknown;
      if (slot.valueNode === null) value = undefined;
      else if (slot.valueNode.kind === Kind.VARIABLE) {
        const name = slot.valueNode.name.value;
        // A variable that was not provided leaves the argument to its default, as in execution.
        value = Object.hasOwn(variables, name) ? (variables[name] ?? null) : undefined;
      } else value = slot.literal ?? null;
      if (typeof value === 'number') given.push([slot.name, value]);
      else if (value === undefined && slot.defaultValue !== null) defaults.push(slot.defaultValue);
    }
    if (requireOne && given.length > 1) fail(`${given.length} were given (${given.map(([n, v]) => `${n}: ${v}`).join(', ')})`);
    if (requireOne && given.length === 0 && defaults.length === 0) fail('none was given');
    const values = given.length > 0 ? given.map(([, v]) => v) : defaults;
    return values.length > 0 ? Math.max(0, ...values) : fallback;
  };

  if (slots.some((s) => s.valueNode && hasVariable(s.valueNode))) return size;
  try {
    return size({});
  } catch {
    // Literals only, and wrong: every request of this operation fails the same way.
    return size;
  }
}
