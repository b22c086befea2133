import type { ApolloServerPlugin } from '@apollo/server';
import { type Context, trace } from '@opentelemetry/api';
import { type DocumentNode, Kind, print, visit } from 'graphql';
import type { GatewayContext } from '../graph/context.js';

/**
 * The GraphQL semantic conventions on the operation span (route-spans.ts starts it around
 * Apollo's handler and binds it to the request's state, `contextOf`): named after the operation type
 * (`query`, `mutation`; the operation's name is client-chosen and of unbounded cardinality, so it
 * is an attribute, not the name), with `graphql.operation.name` and `graphql.document`.
 * Nothing is done for a request that is not sampled.
 */
export function graphqlSpanPlugin(contextOf: (state: object) => Context | undefined): ApolloServerPlugin<GatewayContext> {
  const documents = new WeakMap<DocumentNode, string>();
  return {
    async requestDidStart({ contextValue }) {
      const bound = contextOf(contextValue.state);
      const span = bound && trace.getSpan(bound);
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operation, operationName, document }) {
          if (!operation) return; // Apollo answers the missing or ambiguous operation; the span keeps its fallback name
          span.updateName(operation.operation);
          span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
          // Apollo hands the same parsed document to every request with the same text: printed once.
          let text = documents.get(document);
          if (text === undefined) {
            text = sanitizedDocument(document);
            documents.set(document, text);
          }
          span.setAttribute('graphql.document', text);
        },
      };
    },
  };
}

/** A literal written into a document (as opposed to a variable) may be a secret: it goes out as `?`. */
const REDACTED = { kind: Kind.ENUM, value: '?' } as const;
const redact = () => REDACTED;
/** Module level: a visitor's keys are node kinds, which a lint rule takes for components when inside a function. */
const REDACT_LITERALS = { StringValue: redact, IntValue: redact, FloatValue: redact };

/**
 * The document as executed, its string and number literals replaced by `?` (the semantic
 * conventions' sanitized form: `bookById(id: ?)`); booleans, enums and null stay, they carry no data.
 */
export function sanitizedDocument(document: DocumentNode): string {
  return print(visit(document, REDACT_LITERALS));
}
