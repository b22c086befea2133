import { Kind, type OperationDefinitionNode, type ValueNode } from 'graphql';

/**
 * Root fields a tenant may always call to see its own consumption: they answer while the tenant
 * is throttled and cost nothing against the plan, under their own abuse cap instead.
 */
export const USAGE_FIELDS = new Set(['Query.usage', 'Query.rateLimit']);

export function isUsageOnly(rootFields: readonly string[]): boolean {
  if (rootFields.length === 0) return false;
  for (const field of rootFields) if (!USAGE_FIELDS.has(field)) return false;
  return true;
}

/**
 * `rateLimit(dryRun: true)` (GitHub's semantics): the operation is priced but neither executed
 * nor charged; only the `rateLimit` selections run. Returns the operation reduced to them, or
 * null when no `rateLimit` selection asks for a dry run.
 */
export function rateLimitDryRun(operation: OperationDefinitionNode, variables: Record<string, unknown>): OperationDefinitionNode | null {
  // Most operations select no `rateLimit` at all: found without allocating anything.
  if (!operation.selectionSet.selections.some(isRateLimitField)) return null;
  const isTrue = (value: ValueNode | undefined): boolean =>
    value?.kind === Kind.BOOLEAN ? value.value : value?.kind === Kind.VARIABLE ? variables[value.name.value] === true : false;
  const keep = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && s.name.value === 'rateLimit');
  const dry = keep.some((s) => s.kind === Kind.FIELD && isTrue(s.arguments?.find((a) => a.name.value === 'dryRun')?.value));
  if (!dry || operation.operation !== 'query') return null;
  return { ...operation, selectionSet: { ...operation.selectionSet, selections: keep } };
}

function isRateLimitField(selection: OperationDefinitionNode['selectionSet']['selections'][number]): boolean {
  return selection.kind === Kind.FIELD && selection.name.value === 'rateLimit';
}
