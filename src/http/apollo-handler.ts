import { Readable } from 'node:stream';
import { type ApolloServer, type BaseContext, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The `/graphql` route's handler: the request handed to Apollo, Apollo's answer written to the
 * reply, as `@as-integrations/fastify`'s `fastifyApolloHandler` does, less two per-request costs
 * it pays: it parses the whole URL with `new URL` to read the query string (about 2 µs of every
 * request in a CPU profile of the `overhead` bench, where most requests are POSTs with no query
 * string at all), and copies the headers through `Object.entries`. The integration's drain plugin
 * is still used (http/server.ts).
 */
export function apolloHandler<Context extends BaseContext>(
  apollo: ApolloServer<Context>,
  context: (request: FastifyRequest, reply: FastifyReply) => Promise<Context>,
  /** Told of a request whose client left before the answer was ready: nothing will be written, so no `onResponse` follows. */
  clientGone: (request: FastifyRequest) => void,
) {
  return async function graphqlHandler(request: FastifyRequest, reply: FastifyReply) {
    let answer: Awaited<ReturnType<typeof apollo.executeHTTPGraphQLRequest>>;
    try {
      answer = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: graphqlRequestOf(request),
        context: () => context(request, reply),
      });
    } finally {
      // A client that closed its connection after sending the request never gets a response: Node
      // never finishes it, and Fastify's `onResponse` (on 'finish') and `onRequestAbort` (for a
      // request whose body was cut short) never come. What it held would be held for good.
      if (reply.raw.destroyed) clientGone(request);
    }
    const { headers, body, status } = answer;
    // forEach, not for...of: no iterator or entry array per header.
    headers.forEach((value, name) => {
      reply.header(name, value);
    });
    reply.code(status ?? 200);
    if (body.kind === 'complete') return body.string;
    // Incremental delivery (@defer): Apollo's multipart chunks, streamed.
    return reply.send(Readable.from(body.asyncIterator));
  };
}

/** What Apollo reads of the HTTP request: method, headers (CSRF prevention, content negotiation), body, query string (GET). */
export function graphqlRequestOf(request: FastifyRequest): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  const given = request.headers;
  for (const name in given) {
    const value = given[name];
    // Node lowercases header names and repeats only set-cookie as an array.
    if (value) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { method: request.method, headers, body: request.body, search: searchOf(request.url) };
}

/** The query string of a request target (`/graphql?query=...` -> `?query=...`), as `URL#search` gives it: empty when there is none. */
export function searchOf(url: string): string {
  // A fragment is never sent in a request target, but a client may write one: URL drops it.
  const hash = url.indexOf('#');
  const path = hash < 0 ? url : url.slice(0, hash);
  const start = path.indexOf('?');
  return start < 0 || start === path.length - 1 ? '' : path.slice(start);
}
