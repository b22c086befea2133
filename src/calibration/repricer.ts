import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { createCostAnalyzer } from '../cost/analyzer.js';
import { documentPartOf, type RecordedOperation } from '../record/operation-key.js';
import { withAssumedSizes } from './apply-sizes.js';

/** An operation's estimate under other sizes, or why there is none. */
export type Repriced = { estimate: number } | { unpriceable: string };

/**
 * Prices recorded operations again on the schema with `sizes` as `@listSize(assumedSize:)`: each
 * distinct operation (key) once, each text parsed once across every repricer sharing `documents`.
 * An operation the schema no longer accepts (a field removed since it was recorded) or whose
 * variables no longer fit is unpriceable: the replay keeps its recorded estimate and counts it.
 */
export function createRepricer(options: {
  schema: GraphQLSchema;
  sizes: ReadonlyMap<string, number>;
  defaultListSize: number;
  documents: ParsedDocuments;
}): (key: string, operation: RecordedOperation) => Repriced {
  const analyzer = createCostAnalyzer({ schema: withAssumedSizes(options.schema, options.sizes), defaultListSize: options.defaultListSize });
  const priced = new Map<string, Repriced>();
  return (key, operation) => {
    let result = priced.get(key);
    if (result === undefined) {
      try {
        const document = options.documents.of(documentPartOf(key), operation.text);
        const variables = JSON.parse(operation.variables) as Record<string, unknown>;
        result = { estimate: analyzer.estimate(document, operation.name, variables).fieldCost };
      } catch (err) {
        result = { unpriceable: err instanceof Error ? err.message : String(err) };
      }
      priced.set(key, result);
    }
    return result;
  };
}

/** Parsed texts by document key, shared by the repricers of one replay. */
export function createParsedDocuments() {
  const parsed = new Map<string, DocumentNode>();
  return {
    /** Throws the parse error of a text that is not GraphQL. */
    of(documentKey: string, text: string): DocumentNode {
      let document = parsed.get(documentKey);
      if (!document) {
        document = parse(text);
        parsed.set(documentKey, document);
      }
      return document;
    },
  };
}

export type ParsedDocuments = ReturnType<typeof createParsedDocuments>;
