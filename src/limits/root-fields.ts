import { Kind, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type GraphQLSchema } from 'graphql';

/**
 * The root fields an operation selects, as `Mutation.placeOrder`, one entry per response key
 * (two aliases of one field are two calls). Fragments are expanded; `@skip`/`@include` are not
 * evaluated, so a conditionally skipped root field still counts: conservative for field limits.
 */
export function rootFieldsOf(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): string[] {
  const rootType =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!rootType) return [];
  const byKey = new Map<string, string>();
  const seenFragments = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        byKey.set(selection.alias?.value ?? selection.name.value, `${rootType.name}.${selection.name.value}`);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!seenFragments.has(selection.name.value)) {
        seenFragments.add(selection.name.value);
        const fragment = fragments[selection.name.value];
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return [...byKey.values()];
}
