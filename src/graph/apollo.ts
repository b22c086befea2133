import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../observability/logger.js';
import type { GatewayContext } from './context.js';
import { isUnexpected, maskUnexpectedErrors } from './error-masking.js';
import { NO_SHARED_APQ, persistedQueriesPlugin } from './persisted-queries.js';

/**
 * The Apollo Server over the executable schema. Cross-cutting features (cost, limits, cache
 * reporting, metering) join as plugins through `plugins`; their hooks run in the order given.
 */
export function createApollo(options: {
  schema: GraphQLSchema;
  logger: Logger;
  plugins?: ApolloServerPlugin<GatewayContext>[];
}): ApolloServer<GatewayContext> {
  return new ApolloServer<GatewayContext>({
    schema: options.schema,
    introspection: true,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handler would stop the server and re-raise the
    // signal while the gateway is still draining and flushing usage, killing the process mid-flush.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpectedErrors,
    // Automatic persisted queries per API key, never shared (persisted-queries.ts).
    persistedQueries: { cache: NO_SHARED_APQ },
    plugins: [errorLoggingPlugin(options.logger), persistedQueriesPlugin(), ...(options.plugins ?? [])],
  });
}

/** Logs every error that will be masked, with the request id a client sees in `x-request-id`. */
function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (isUnexpected(error)) {
              logger.error({ err: error.originalError ?? error, requestId: contextValue.requestId, path: error.path }, 'unexpected error');
            }
          }
        },
      };
    },
  };
}
