import { HeaderMap, type GraphQLResponse } from '@apollo/server';

/** Header asking for the price of an operation without running it: `1` or `true`. */
export const DRY_RUN_HEADER = 'x-cost-dry-run';

/** A price-only request: the `x-cost-dry-run` header's value is `1` or `true`, or `extensions.dryRun` is true. */
export function asksDryRun(header: string | undefined, extensions: unknown): boolean {
  const value = header?.trim().toLowerCase();
  return (
    value === '1' || value === 'true' || (typeof extensions === 'object' && extensions !== null && (extensions as Record<string, unknown>).dryRun === true)
  );
}

/**
 * The answer to a dry run, in place of execution: HTTP 200 and `data: null`; `extensions.cost`
 * (with the breakdown) is added as for every priced response. Nothing executes and no downstream
 * service is called.
 */
export function dryRunAnswer(): Pick<GraphQLResponse, 'http' | 'body'> {
  return { http: { headers: new HeaderMap(), status: 200 }, body: { kind: 'single', singleResult: { data: null } } };
}
