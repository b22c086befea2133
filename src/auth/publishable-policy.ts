import { Kind, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { GatewayError } from '../errors/gateway-error.js';
import type { Principal } from './principal.js';

/**
 * What a publishable (browser) key may run, in one place for every route: the GraphQL operation
 * actually executed (whether its text came in the request, from the key's APQ registrations or
 * from a trusted document), and `/usage.csv`.
 *
 * - A key with `rootFields` may select only those root fields. Introspection (`__schema`,
 *   `__type`) is a root selection like any other: such a key introspects only if its list names
 *   `Query.__schema` / `Query.__type`. (`__typename` is always allowed: it reveals nothing.)
 * - A key with `trustedDocumentsOnly` runs registered documents and nothing else (the document
 *   policy at the door checks that, before the text is looked up).
 */
export function assertOperationAllowed(principal: Principal, operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): void {
  const allowed = principal.kind === 'apiKey' ? principal.publishable?.rootFields : null;
  if (!allowed) return;
  const rootType = operation.operation === 'mutation' ? 'Mutation' : operation.operation === 'subscription' ? 'Subscription' : 'Query';
  const outside = [...rootSelections(operation.selectionSet, fragments, new Set())].map((name) => `${rootType}.${name}`).filter((f) => !allowed.has(f));
  if (outside.length > 0) throw notAllowed(principal.clientId, outside, allowed);
}

/** `/usage.csv` serves what `{ usage { history } }` would: the same rule as that operation. */
export function assertUsageExportAllowed(principal: Principal): void {
  if (principal.kind !== 'apiKey' || !principal.publishable) return;
  const { rootFields, trustedDocumentsOnly } = principal.publishable;
  if (trustedDocumentsOnly) {
    throw new GatewayError(
      'TRUSTED_DOCUMENT_REQUIRED',
      `Publishable key "${principal.clientId}" runs only registered trusted documents; /usage.csv is not one.`,
    );
  }
  if (rootFields && !rootFields.has('Query.usage')) throw notAllowed(principal.clientId, ['Query.usage'], rootFields);
}

/**
 * A publishable key sits in a web page: whoever reads the page holds it. It may see its tenant's
 * usage totals (the `usage` query, if its root fields allow), but not the tenant's other key ids
 * (`byClient`, `history(client:)` naming another key).
 */
export function assertMaySeeKey(principal: Principal, clientId: string | null): void {
  if (principal.kind !== 'apiKey' || !principal.publishable || clientId === principal.clientId) return;
  throw new GatewayError(
    'FORBIDDEN',
    `Publishable key "${principal.clientId}" cannot see usage per API key (it would show the tenant's key ids); use a secret key.`,
  );
}

/** Root selection names (fragments expanded; `__typename` left out), aliases not counted twice. */
function rootSelections(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string>, names = new Set<string>()): Set<string> {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') names.add(selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootSelections(selection.selectionSet, fragments, seen, names);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments[selection.name.value];
      if (fragment) rootSelections(fragment.selectionSet, fragments, seen, names);
    }
  }
  return names;
}

function notAllowed(clientId: string, outside: string[], allowed: ReadonlySet<string>): GatewayError {
  return new GatewayError(
    'OPERATION_NOT_ALLOWED',
    `Publishable key "${clientId}" may not select ${outside.join(', ')}; it may select ${[...allowed].join(', ')}.`,
    {
      setHttpStatus: true,
      extensions: { fields: outside },
    },
  );
}
