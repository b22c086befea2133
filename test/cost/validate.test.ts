import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createCostAnalyzer } from '../../src/cost/analyzer.js';
import { validateCostDirectives } from '../../src/cost/validate.js';
import { loadSchemaSdl } from '../../src/graph/load-schema.js';
import { schemaOf } from './support.js';

const BROKEN = `
  interface Node { id: ID! @cost(weight: "2") label(short: Boolean @cost(weight: "1")): String }
  type Query {
    a(first: Int): [Int] @listSize(slicingArguments: ["frist"])
    b(after: String): [Int] @listSize(slicingArguments: ["after"])
    c: Int @listSize(assumedSize: 3)
    d(first: Int): Conn @listSize(slicingArguments: ["first"], sizedFields: ["edgez", "total"])
    e: [Int] @cost(weight: "ten") @listSize(assumedSize: -1)
    f(first: Int): [Int] @listSize(slicingArguments: ["first"], assumedSize: 5)
    g(limit: [Int]): [Int] @listSize(slicingArguments: ["limit"])
  }
  type Conn { edges: [Int] total: Int }
  type Thing implements Node { id: ID! label(short: Boolean): String }
  input Filter { near: String @cost(weight: "1,5") }
`;

describe('validateCostDirectives', () => {
  it('reports every problem at once, each with its schema coordinate', () => {
    let message = '';
    try {
      validateCostDirectives(schemaOf(BROKEN));
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('invalid @cost/@listSize in the schema (12 problems):');
    expect(lines.slice(1).sort()).toEqual(
      [
        '  - Node.id: @cost is not allowed on interface fields; put it on the fields of the object types that implement Node',
        "  - Node.label(short:): @cost is not allowed on arguments of interface fields; put it on the object types' fields",
        '  - Query.a: slicingArguments names "frist", which is not an argument',
        '  - Query.b: slicing argument "after" must be Int or Int!, not String',
        '  - Query.c: @listSize on a field that returns Int, which is not a list; add sizedFields naming the lists it sizes, or remove it',
        '  - Query.d: sizedFields names "edgez", which is not a field of Conn',
        '  - Query.d: sizedFields names "total", but Conn.total returns Int, which is not a list',
        '  - Query.e: @cost weight must be a number in a string, like "2.5": "ten"',
        '  - Query.e: assumedSize must not be negative: -1',
        '  - Query.f: assumedSize 5 is never used, because requireOneSlicingArgument makes a slicing argument (first) always given; remove assumedSize or set requireOneSlicingArgument: false',
        '  - Query.g: slicing argument "limit" must be Int or Int!, not [Int]',
        '  - Filter.near: @cost weight must be a number in a string, like "2.5": "1,5"',
      ].sort(),
    );
  });

  it('makes createCostAnalyzer refuse the schema', () => {
    expect(() => createCostAnalyzer({ schema: schemaOf(BROKEN) })).toThrow('invalid @cost/@listSize in the schema (12 problems)');
  });

  it('accepts weights written as decimals, negatives and exponents', () => {
    const schema = schemaOf(`
      type Query { a: Int @cost(weight: "2.5") b: Int @cost(weight: "-3") c: Int @cost(weight: "1e2") d: Int @cost(weight: " 4 ") }
    `);
    expect(validateCostDirectives(schema)).toEqual({ warnings: [] });
  });

  it('warns about list fields priced at the default size, naming them, but not those sized by a connection', () => {
    const schema = schemaOf(`
      type Query {
        posts(first: Int = 10): PostConnection! @listSize(slicingArguments: ["first"], sizedFields: ["nodes"])
        tags: [String!]!
        sized: [Int] @listSize(assumedSize: 3)
      }
      type PostConnection { nodes: [Post!]! }
      type Post { comments: [String] }
    `);
    expect(validateCostDirectives(schema).warnings).toEqual([
      'Query.tags: list field without @listSize, priced as 10 items',
      'Post.comments: list field without @listSize, priced as 10 items',
    ]);
    expect(validateCostDirectives(schema, { defaultListSize: 25 }).warnings[0]).toBe('Query.tags: list field without @listSize, priced as 25 items');
    expect(createCostAnalyzer({ schema }).warnings).toHaveLength(2);
  });

  it('finds the API schema valid, with every list field sized', async () => {
    // The README promises every list field declares its size with @listSize.
    const schema = buildSchema(await loadSchemaSdl());
    expect(validateCostDirectives(schema).warnings).toEqual([]);
  });
});
