import type { TypedOperation } from './generated/operations';

/** A GraphQL or HTTP error, with the gateway's `extensions.code` (`FORBIDDEN`, `RATE_LIMITED`, ...). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Sends one typed operation to the gateway's public /graphql with the signed-in key, like any
 * other client. Any error in the response fails the call: the pages show the gateway's message.
 */
export async function request<Result, Variables>(apiKey: string, operation: TypedOperation<Result, Variables>, variables?: Variables): Promise<Result> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ operationName: operation.operationName, query: operation.query, variables: variables ?? {} }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('The gateway could not be reached.', 'NETWORK_ERROR', 0);
  }
  let body: { data?: Result | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The gateway answered HTTP ${response.status} without a GraphQL body.`, 'BAD_RESPONSE', response.status);
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'UNKNOWN', response.status);
  if (!body.data) throw new ApiError('The gateway answered without data.', 'BAD_RESPONSE', response.status);
  return body.data;
}
