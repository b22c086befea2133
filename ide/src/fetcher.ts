import type { GraphiQLProps } from 'graphiql';
import { exchangeOf, type Exchange } from './exchange.js';

type FetchResult = Awaited<ReturnType<GraphiQLProps['fetcher']>>;

export interface FetcherEvents {
  /** Each of the user's operations, with what the gateway said beyond its data. */
  onExchange(exchange: Exchange): void;
  /** Whether loading the schema (introspection) worked, and with which `Authorization` value (null: none). */
  onIntrospection(ok: boolean, authorization: string | null): void;
}

const INTROSPECTION = 'IntrospectionQuery';

/** The `Authorization: Bearer <something>` value of the headers (any case), null without one. */
export function authorizationOf(headers: Record<string, unknown>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    const text = String(value).trim();
    if (name.toLowerCase() === 'authorization' && /^Bearer\s+\S+/i.test(text)) return text;
  }
  return null;
}

/**
 * GraphiQL's fetcher: POSTs to the gateway's /graphql on this origin with the headers from the
 * headers editor, and reports each exchange (status, request id, cost, rate-limit headers) so the
 * IDE can show what the response body alone does not. Without a key it does not call the gateway
 * at all: it answers with the one thing to do.
 */
export function createFetcher(events: FetcherEvents): GraphiQLProps['fetcher'] {
  return async (params, options) => {
    const headers = (options?.headers ?? {}) as Record<string, unknown>;
    const introspection = params.operationName === INTROSPECTION;
    const authorization = authorizationOf(headers);
    if (!authorization) {
      if (introspection) events.onIntrospection(false, null);
      return {
        errors: [{ message: 'Put your API key in the Headers tab: { "Authorization": "Bearer <your key>" }, then run the operation.' }],
      } as unknown as FetchResult;
    }
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(headers as Record<string, string>) },
      body: JSON.stringify(params),
    });
    const body: unknown = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status} without a JSON body` }] }));
    if (introspection) events.onIntrospection(response.ok, authorization);
    else events.onExchange(exchangeOf(params.operationName ?? null, response, body));
    return body as FetchResult;
  };
}
