/**
 * Query cost analysis after the IBM GraphQL Cost Directive specification
 * (https://ibm.github.io/graphql-specs/cost-spec.html): `@cost` weights and `@listSize` sizes give
 * each operation a field cost and a type cost before execution (static query analysis), and an
 * actual field cost from the response (dynamic analysis).
 *
 * Where the spec leaves a choice, this implementation chooses:
 *
 * - Weights. A field without `@cost` takes its return type's `@cost`; without either, 1 for
 *   object, interface, union and input object types, 0 for scalars and enums. An interface or
 *   union type weighs as much as its heaviest possible type. Arguments and input fields fall back
 *   to their type's weight the same way (a `@cost` on a scalar or enum applies to arguments of it).
 * - Arguments. Only arguments given in the operation are charged: a schema default is not (the
 *   client did not ask for it), an absent variable or a null is not. Each element of a list value
 *   is one appearance: `items: [a, b, c]` costs three times the weight of `items`, plus the input
 *   fields given in each element. Directive arguments are charged the same way, from the first
 *   selection of a field when several selections merge.
 * - Per field, weight + arguments + directives is floored at 0 and then multiplied by how many
 *   times the resolver can run: the product of the list sizes above it.
 * - List sizes. The largest slicing argument given (literal or variable) wins; when none is given,
 *   the largest schema default of the slicing arguments counts as given (so `customers` without
 *   `first` is sized by `first = 20`, as its resolver is); then `assumedSize`; then the analyzer's
 *   `defaultListSize` (10). With `requireOneSlicingArgument` (the default), two slicing arguments
 *   given, or none given and none defaulted, fail the request with COST_ANALYSIS_FAILED (400),
 *   whether or not the sized lists are selected. A nested list `[[T]]` is that size per level.
 *   Negative sizes count as 0.
 * - `sizedFields`: the size goes to the named list fields of the returned object (the connection
 *   itself counts once), overriding their own `@listSize`. A list field carrying
 *   `@listSize(sizedFields:)` is itself sized by the default list size.
 * - Abstract types: a selection on an interface or union is priced for each possible type with
 *   graphql-js's field collection for that type, and the most expensive possible type is charged
 *   (its fields are the ones in the breakdown); the type cost takes the highest of any type.
 * - Type cost counts the root operation type once, plus every returned instance of every type,
 *   scalars and enums included (they weigh 0 unless they carry `@cost`).
 * - Meta fields (`__typename`, `__schema`, `__type`) cost nothing, nor what is selected under them.
 * - `@cost` on interface fields or their arguments is refused at start (the object types' fields
 *   are what run); so is an `assumedSize` that `requireOneSlicingArgument` makes unreachable.
 * - Actual cost: the same weights over the data returned; a field counts once per parent object
 *   present, nothing under a null counts. An abstract value's type comes from a selected
 *   `__typename`, else from which selected keys it carries.
 * - Variables are coerced with graphql-js before evaluation (defaults applied); coercion errors
 *   fail the request with BAD_USER_INPUT, as execution would.
 * - Results are rounded to 6 decimals, so "0.1" weights add up without float noise.
 */
import { createHash } from 'node:crypto';
import { getOperationAST, getVariableValues, Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import { GatewayError } from '../errors/gateway-error.js';
import { compileOperation } from './compile.js';
import { createCostIndex } from './directives.js';
import { evaluateActual, evaluateEstimate, type CostEstimate } from './evaluate.js';
import type { OperationPlan, Variables } from './plan.js';
import { DEFAULT_LIST_SIZE, validateCostDirectives } from './validate.js';

export type { CostBreakdownEntry, CostEstimate } from './evaluate.js';

export interface CostAnalyzerOptions {
  schema: GraphQLSchema;
  /** The size assumed for a list field without `@listSize`; default 10. */
  defaultListSize?: number;
  /** How many compiled operations are kept, least recently used dropped first; default 1000. */
  cacheSize?: number;
}

interface CompiledOperation {
  plan: OperationPlan;
  /** The last variables coerced for this operation: `estimate` and `actual` of one request share them. */
  lastInput?: object;
  lastCoerced?: Variables;
}

export type CostAnalyzer = ReturnType<typeof createCostAnalyzer>;

/**
 * Validates the schema's cost directives (throws on any problem) and returns the analyzer. Each
 * distinct operation (document text + operation name) is compiled once into a plan; a request
 * with other variables only evaluates it.
 */
export function createCostAnalyzer(options: CostAnalyzerOptions) {
  const { schema } = options;
  const defaultListSize = options.defaultListSize ?? DEFAULT_LIST_SIZE;
  const cacheSize = options.cacheSize ?? 1000;
  if (!Number.isFinite(defaultListSize) || defaultListSize < 0) {
    throw new Error(`defaultListSize must be a number of at least 0: ${defaultListSize}`);
  }
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new Error(`cacheSize must be a positive integer: ${cacheSize}`);

  const { warnings } = validateCostDirectives(schema, { defaultListSize });
  const index = createCostIndex(schema);
  // A Map iterates in insertion order: re-inserting on each hit makes the first key the least recently used.
  const cache = new Map<string, CompiledOperation>();
  const documentIds = new WeakMap<DocumentNode, number>();
  let compiled = 0;
  let nextDocumentId = 1;

  // Apollo hands the same parsed DocumentNode to every request with the same query text (its
  // document store), so the hash is computed once per document, not once per request.
  const documentHashes = new WeakMap<DocumentNode, string>();
  const lastOfDocument = new WeakMap<DocumentNode, { name: string; entry: CompiledOperation }>();

  function documentKey(document: DocumentNode): string {
    const known = documentHashes.get(document);
    if (known !== undefined) return known;
    const text = document.loc?.source.body;
    if (text !== undefined) {
      // Hashed, so a thousand cached operations do not keep a thousand query texts alive.
      const hash = createHash('sha256').update(text).digest('base64');
      documentHashes.set(document, hash);
      return hash;
    }
    // A document built without locations: known by identity.
    let id = documentIds.get(document);
    if (id === undefined) {
      id = nextDocumentId++;
      documentIds.set(document, id);
    }
    return `#${id}`;
  }

  function compiledFor(document: DocumentNode, operationName: string | null | undefined): CompiledOperation {
    // The same document again (its estimate, then its actual; the next request with the same
    // text): no key to build, no reordering of the cache. Kept as long as Apollo keeps the document.
    const name = operationName ?? '';
    const last = lastOfDocument.get(document);
    if (last !== undefined && last.name === name) return last.entry;
    const entry = compiledByKey(document, operationName);
    lastOfDocument.set(document, { name, entry });
    return entry;
  }

  function compiledByKey(document: DocumentNode, operationName: string | null | undefined): CompiledOperation {
    const key = `${operationName ?? ''}\u0000${documentKey(document)}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      const message = operationName ? `Unknown operation named "${operationName}".` : 'Must provide operation name if query contains multiple operations.';
      throw new GatewayError('BAD_USER_INPUT', message, { setHttpStatus: true });
    }
    const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    }
    const entry: CompiledOperation = { plan: compileOperation(schema, index, fragments, operation, defaultListSize) };
    compiled += 1;
    cache.set(key, entry);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return entry;
  }

  function coerce(entry: CompiledOperation, variables: Record<string, unknown> | null | undefined): Variables {
    if (entry.plan.variableDefinitions.length === 0) return {};
    const input = variables ?? {};
    if (entry.lastInput === input && entry.lastCoerced) return entry.lastCoerced;
    const result = getVariableValues(schema, entry.plan.variableDefinitions, input, { maxErrors: 1 });
    if (result.errors) {
      throw new GatewayError('BAD_USER_INPUT', result.errors[0]!.message, { setHttpStatus: true });
    }
    entry.lastInput = input;
    entry.lastCoerced = result.coerced;
    return result.coerced;
  }

  return {
    /** Start-up warnings: list fields priced at the default list size. */
    warnings,
    /** The spec's static estimate of an operation, for these variables. Throws a GatewayError for a bad request. */
    estimate(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): CostEstimate {
      const entry = compiledFor(document, operationName);
      const estimate = evaluateEstimate(entry.plan, coerce(entry, variables), defaultListSize);
      // Fields named, not `{ ...estimate, more }`: a spread with overrides is V8's slow path (bench/README.md, `overhead`).
      return { fieldCost: round(estimate.fieldCost), typeCost: round(estimate.typeCost), breakdown: estimate.breakdown };
    },
    /** The field cost of what was actually returned in `data`. */
    actual(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, data: unknown): number {
      const entry = compiledFor(document, operationName);
      return round(evaluateActual(entry.plan, coerce(entry, variables), data));
    },
    /**
     * The compiled plan of an operation and its coerced variables, for walking a response as the
     * estimate sees it (calibration/list-sizes.ts). Throws as `estimate` does.
     */
    compiled(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined) {
      const entry = compiledFor(document, operationName);
      return { plan: entry.plan, variables: coerce(entry, variables), defaultListSize };
    },
    /** How many operations have been compiled (cache misses) since start. */
    compiledCount: () => compiled,
    /** How many compiled operations the cache holds. */
    cachedCount: () => cache.size,
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
