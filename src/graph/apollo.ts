import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { GatewayContext } from './context.js';
import { maskUnexpectedErrors } from './error-masking.js';
import { NO_SHARED_APQ } from './persisted-queries.js';

/**
 * The Apollo Server over the executable schema. What happens to a request inside it is the
 * request path's plugin (http/pipeline.ts), which runs its steps in order within each hook:
 * Apollo runs the same hook of different plugins together, so no order between plugins is relied on.
 */
export function createApollo(options: { schema: GraphQLSchema; plugins: ApolloServerPlugin<GatewayContext>[] }): ApolloServer<GatewayContext> {
  return new ApolloServer<GatewayContext>({
    schema: options.schema,
    introspection: true,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handler would stop the server and re-raise the
    // signal while the gateway is still draining and flushing usage, killing the process mid-flush.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // The same protection is the door's (http/transport-hook.ts): a POST must be JSON and a GET
    // needs a preflight header before Apollo is reached, with an answer that says what to send.
    // Apollo's own check would parse the content type again on every request (whatwg-mimetype).
    csrfPrevention: false,
    formatError: maskUnexpectedErrors,
    // Automatic persisted queries per API key, never shared (persisted-queries.ts): Apollo's own
    // store is made unable to hold anything, and the request path resolves hashes per key.
    persistedQueries: { cache: NO_SHARED_APQ },
    // Apollo's cache-control plugin (installed unless disabled) wraps every resolver to gather
    // `@cacheControl` hints, which this schema has none of: the gateway caches by its own `@cached`
    // directive and writes `cache-control: private, no-store` itself. A cost on every field for nothing.
    plugins: [ApolloServerPluginCacheControlDisabled(), ...options.plugins],
  });
}
