import { graphql, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { analyzerOf, estimateOf, schemaOf } from './support.js';
import { createCostAnalyzer } from '../../src/cost/analyzer.js';

/** Runs `fn`, expecting a GatewayError; returns it. */
function gatewayErrorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

describe('the specification examples', () => {
  it('prices `users(max: 5) { age }` at field cost 11 and type cost 6', () => {
    const analyzer = analyzerOf(`
      type User { name: String age: Int @cost(weight: "2.0") }
      type Query { users(max: Int): [User] @listSize(slicingArguments: ["max"]) }
    `);
    // users: weight 1 (returns objects), runs once = 1; age: weight 2, runs once per user = 2 * 5 = 10.
    // Type cost: Query 1 + 5 User = 6.
    const estimate = estimateOf(analyzer, 'query Example { users(max: 5) { age } }');
    expect(estimate).toEqual({
      fieldCost: 11,
      typeCost: 6,
      breakdown: [
        { path: 'users', cost: 1, multiplier: 1 },
        { path: 'users.age', cost: 2, multiplier: 5 },
      ],
    });
  });
});

describe('arguments and input fields', () => {
  const analyzer = analyzerOf(`
    type Query {
      search(text: String @cost(weight: "3"), filter: Filter): [Item!]! @listSize(assumedSize: 4) @cost(weight: "5")
      mostPopular(approx: Approx @cost(weight: "-8")): Item @cost(weight: "5")
    }
    input Filter { tags: [TagInput!] @cost(weight: "2") range: Range }
    input TagInput { name: String! exact: Boolean @cost(weight: "1") }
    input Range { from: Int @cost(weight: "0.5") to: Int }
    input Approx { tolerance: Float }
    type Item { id: ID! price: Int @cost(weight: "2") }
  `);

  it('adds the weight of each argument given, and nothing for arguments not given', () => {
    // search: 5, runs once; id: 0. Type cost: Query 1 + 4 Items (assumedSize) = 5.
    expect(estimateOf(analyzer, '{ search { id } }')).toMatchObject({ fieldCost: 5, typeCost: 5 });
    // search(text:): 5 + 3 = 8.
    expect(estimateOf(analyzer, '{ search(text: "lamp") { id } }').fieldCost).toBe(8);
  });

  it('adds nested input fields, each element of a list of input objects counting once', () => {
    // filter: Filter (an input object, weight 1)
    //   tags: 2 elements, each 2 (tags' weight) + name 0 + exact 1 when given: (2 + 1) + 2 = 5
    //   range: Range (weight 1) + from 0.5 = 1.5
    // filter = 1 + 5 + 1.5 = 7.5; search = 5 + 7.5 = 12.5 per call.
    // price: 2 per item, 4 items = 8. Total 20.5.
    const query = '{ search(filter: { tags: [{ name: "a", exact: true }, { name: "b" }], range: { from: 1 } }) { price } }';
    expect(estimateOf(analyzer, query)).toMatchObject({
      fieldCost: 20.5,
      breakdown: [
        { path: 'search', cost: 12.5, multiplier: 1 },
        { path: 'search.price', cost: 2, multiplier: 4 },
      ],
    });
  });

  it('prices an input object given in a variable by what it holds', () => {
    const query = 'query($f: Filter) { search(filter: $f) { price } }';
    // Three tags without `exact`: 3 * 2 = 6; filter 1 + 6 = 7; search 12; price 8: 20.
    expect(estimateOf(analyzer, query, { f: { tags: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } }).fieldCost).toBe(20);
    // One tag: filter 1 + 2 = 3; search 8; price 8: 16.
    expect(estimateOf(analyzer, query, { f: { tags: [{ name: 'a' }] } }).fieldCost).toBe(16);
    // Not provided: the argument is not given; search 5 + price 8 = 13.
    expect(estimateOf(analyzer, query, {}).fieldCost).toBe(13);
  });

  it('floors a field with a negative argument weight at 0, without touching its children', () => {
    // mostPopular alone: 5.
    expect(estimateOf(analyzer, '{ mostPopular { id } }').fieldCost).toBe(5);
    // With approx: 5 + (-8 + tolerance 0) = -3, floored to 0.
    expect(estimateOf(analyzer, '{ mostPopular(approx: { tolerance: 0.1 }) { id } }').fieldCost).toBe(0);
    // Its child still costs: 0 + price 2 = 2.
    expect(estimateOf(analyzer, '{ mostPopular(approx: { tolerance: 0.1 }) { price } }').fieldCost).toBe(2);
  });
});

describe('list sizes', () => {
  const library = `
    type Query {
      authors(limit: Int): [Author!]! @listSize(slicingArguments: ["limit"])
      users(first: Int, last: Int, after: String): UserConnection!
        @listSize(slicingArguments: ["first", "last"], sizedFields: ["edges", "nodes"])
      search(first: Int, last: Int): [User!]!
        @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false, assumedSize: 50)
    }
    type Author { name: String! books(first: Int = 3): [Book!]! @listSize(slicingArguments: ["first"]) }
    type Book { title: String! reviews: [Review!]! @listSize(assumedSize: 5) }
    type Review { stars: Int! @cost(weight: "1") }
    type UserConnection { edges: [UserEdge!]! nodes: [User!]! pageInfo: PageInfo! total: Int! }
    type UserEdge { cursor: String! node: User! }
    type User { id: ID! profile: Profile }
    type Profile { bio: String }
    type PageInfo { hasNextPage: Boolean! }
  `;
  const analyzer = analyzerOf(library);

  it('multiplies nested lists', () => {
    // authors: 1. books (default first: 3): 1 per author, 10 authors = 10.
    // reviews (assumedSize 5): 1 per book, 10 * 3 = 30 books = 30. stars: 1 per review, 30 * 5 = 150.
    // Field cost 1 + 10 + 30 + 150 = 191. Type cost: Query 1 + 10 Author + 30 Book + 150 Review = 191.
    expect(estimateOf(analyzer, '{ authors(limit: 10) { books { reviews { stars } } } }')).toMatchObject({
      fieldCost: 191,
      typeCost: 191,
      breakdown: [
        { path: 'authors', cost: 1, multiplier: 1 },
        { path: 'authors.books', cost: 1, multiplier: 10 },
        { path: 'authors.books.reviews', cost: 1, multiplier: 30 },
        { path: 'authors.books.reviews.stars', cost: 1, multiplier: 150 },
      ],
    });
  });

  it('sizes a list by its slicing argument: a literal, a variable, or else the schema default', () => {
    const cost = (query: string, variables = {}) => estimateOf(analyzer, query, variables).fieldCost;
    // books(first: 1): authors 1 + books 2 + reviews 2 * 1 = 2 + stars 2 * 5 = 10: 15.
    expect(cost('{ authors(limit: 2) { books(first: 1) { reviews { stars } } } }')).toBe(15);
    // books without `first` takes its default 3: 1 + 2 + 6 + 30 = 39.
    expect(cost('{ authors(limit: 2) { books { reviews { stars } } } }')).toBe(39);
    const withVariable = 'query($n: Int) { authors(limit: 2) { books(first: $n) { reviews { stars } } } }';
    // $n = 4: 1 + 2 + 8 + 40 = 51.
    expect(cost(withVariable, { n: 4 })).toBe(51);
    // $n not provided: the argument takes its default 3, as in execution: 39.
    expect(cost(withVariable, {})).toBe(39);
    // The operation's own default for $n: 2 books: 1 + 2 + 4 + 20 = 27.
    expect(cost('query($n: Int = 2) { authors(limit: 2) { books(first: $n) { reviews { stars } } } }')).toBe(27);
  });

  it('gives the size to the sizedFields of a connection, not to the connection', () => {
    // users: 1 (the connection, once). edges: 1, once. node: 1 per edge, 30 edges = 30.
    // nodes: 1, once. pageInfo: 1, once. Field cost 1 + 1 + 30 + 1 + 1 = 34.
    // Type cost: Query 1 + UserConnection 1 + 30 UserEdge + 30 User (node) + 30 User (nodes) + PageInfo 1 = 93.
    const estimate = estimateOf(analyzer, '{ users(first: 30) { edges { node { id } } nodes { id } pageInfo { hasNextPage } } }');
    expect(estimate).toMatchObject({ fieldCost: 34, typeCost: 93 });
    expect(estimate.breakdown).toContainEqual({ path: 'users.edges.node', cost: 1, multiplier: 30 });
  });

  it('refuses two slicing arguments when requireOneSlicingArgument is on, naming the field and the values', () => {
    const error = gatewayErrorOf(() => estimateOf(analyzer, '{ users(first: 30, last: 5) { nodes { id } } }'));
    expect(error.code).toBe('COST_ANALYSIS_FAILED');
    expect(error.extensions.http).toEqual({ status: 400 });
    expect(error.message).toBe(
      'Query.users at "users" takes exactly one of its slicing arguments (first, last) to size its list, but 2 were given (first: 30, last: 5).',
    );
  });

  it('refuses no slicing argument when requireOneSlicingArgument is on and none has a default', () => {
    const error = gatewayErrorOf(() => estimateOf(analyzer, '{ users { total } }'));
    expect(error.code).toBe('COST_ANALYSIS_FAILED');
    expect(error.message).toBe('Query.users at "users" takes exactly one of its slicing arguments (first, last) to size its list, but none was given.');
    // The same check when the slicing argument is a variable that was not provided.
    expect(() => estimateOf(analyzer, 'query($f: Int) { users(first: $f) { total } }', {})).toThrow('but none was given');
    expect(estimateOf(analyzer, 'query($f: Int) { users(first: $f) { total } }', { f: 3 }).fieldCost).toBe(1);
  });

  it('takes the largest of several slicing arguments when requireOneSlicingArgument is off, else assumedSize', () => {
    // search: 1; profile: 1 per user.
    // first: 3, last: 7 -> 7 users: 1 + 7 = 8.
    expect(estimateOf(analyzer, '{ search(first: 3, last: 7) { profile { bio } } }').fieldCost).toBe(8);
    // Neither given -> assumedSize 50: 1 + 50 = 51.
    expect(estimateOf(analyzer, '{ search { profile { bio } } }').fieldCost).toBe(51);
  });

  it('sizes a list field without @listSize with the configurable default list size', () => {
    const sdl = 'type Query { posts: [Post!]! } type Post { author: Author } type Author { name: String }';
    // posts: 1; author: 1 per post. Default 10 posts: 11; with defaultListSize 25: 26.
    expect(estimateOf(analyzerOf(sdl), '{ posts { author { name } } }').fieldCost).toBe(11);
    expect(estimateOf(analyzerOf(sdl, { defaultListSize: 25 }), '{ posts { author { name } } }').fieldCost).toBe(26);
  });
});

describe('execution semantics', () => {
  const analyzer = analyzerOf(`
    type Query { authors(limit: Int): [Author!]! @listSize(slicingArguments: ["limit"]) }
    type Author { name: String! books(first: Int = 3): [Book!]! @listSize(slicingArguments: ["first"]) }
    type Book { title: String! reviews: [Review!]! @listSize(assumedSize: 5) }
    type Review { stars: Int! @cost(weight: "1") }
  `);

  it('merges the fields of two fragments instead of charging them twice', () => {
    // books is selected by both fragments under one response key: it runs once per author.
    // authors 1 + books 2 + reviews 6 + stars 30 = 39 (and not 41 with books charged twice).
    const query = `
      { authors(limit: 2) { ...Titles ...Reviews } }
      fragment Titles on Author { books { title } }
      fragment Reviews on Author { books { title reviews { stars } } }
    `;
    const estimate = estimateOf(analyzer, query);
    expect(estimate.fieldCost).toBe(39);
    expect(estimate.breakdown.filter((e) => e.path === 'authors.books')).toEqual([{ path: 'authors.books', cost: 1, multiplier: 2 }]);
  });

  it('charges the same field twice under two aliases: two resolver calls', () => {
    // a: 1 + books 1 * 2 = 3; b: 1 + books 1 * 3 = 4. Total 7.
    const estimate = estimateOf(analyzer, '{ a: authors(limit: 2) { books { title } } b: authors(limit: 3) { books { title } } }');
    expect(estimate.fieldCost).toBe(7);
    expect(estimate.breakdown.map((e) => e.path)).toEqual(['a', 'a.books', 'b', 'b.books']);
  });

  it('leaves out what @skip and @include leave out, with literals and with variables', () => {
    // Literal: books skipped, authors alone = 1.
    expect(estimateOf(analyzer, '{ authors(limit: 2) { books @skip(if: true) { title } } }').fieldCost).toBe(1);
    expect(estimateOf(analyzer, '{ authors(limit: 2) { books @include(if: true) { title } } }').fieldCost).toBe(3);
    const query = 'query($withBooks: Boolean!) { authors(limit: 2) { name books @include(if: $withBooks) { title } } }';
    expect(estimateOf(analyzer, query, { withBooks: true }).fieldCost).toBe(3);
    expect(estimateOf(analyzer, query, { withBooks: false }).fieldCost).toBe(1);
  });

  it('merges selections of one field under different conditions as execution does', () => {
    const query = `query($a: Boolean!, $b: Boolean!) {
      authors(limit: 2) { books @include(if: $a) { title } books @include(if: $b) { reviews { stars } } }
    }`;
    // Only $a: authors 1 + books 2 = 3.
    expect(estimateOf(analyzer, query, { a: true, b: false }).fieldCost).toBe(3);
    // Only $b: books with reviews: 1 + 2 + 6 + 30 = 39.
    expect(estimateOf(analyzer, query, { a: false, b: true }).fieldCost).toBe(39);
    // Both: still one books per author: 39.
    expect(estimateOf(analyzer, query, { a: true, b: true }).fieldCost).toBe(39);
    // Neither: 1.
    expect(estimateOf(analyzer, query, { a: false, b: false }).fieldCost).toBe(1);
  });

  it('applies @skip on a fragment spread to everything the fragment selects', () => {
    const query = `query($brief: Boolean!) { authors(limit: 2) { name ...Books @skip(if: $brief) } }
      fragment Books on Author { books { title } }`;
    expect(estimateOf(analyzer, query, { brief: true }).fieldCost).toBe(1);
    expect(estimateOf(analyzer, query, { brief: false }).fieldCost).toBe(3);
  });
});

describe('abstract types', () => {
  const analyzer = analyzerOf(`
    type Query {
      feed(first: Int = 10): [SearchResult!]! @listSize(slicingArguments: ["first"])
      node(id: ID!): Node
    }
    union SearchResult = Photo | Article
    interface Node { id: ID! }
    type Photo implements Node @cost(weight: "3") {
      id: ID!
      url: String! @cost(weight: "4")
      thumbnails: [Image!]! @listSize(assumedSize: 3)
    }
    type Article implements Node { id: ID! body: String! @cost(weight: "1") author: Author }
    type Image { url: String! }
    type Author { name: String! }
  `);

  it('prices a union selection by its most expensive member', () => {
    // feed: weight of SearchResult = max(Photo 3, Article 1) = 3, once.
    // As Photo (2 items): url 4 * 2 = 8, thumbnails 1 * 2 = 2: 10.
    // As Article: body 1 * 2 = 2, author 1 * 2 = 2: 4. Max: 10. Field cost 3 + 10 = 13.
    // Type cost: Query 1 + 2 feed items * 3 + max(Photo: 2 * 3 Images = 6, Article: 2 Authors = 2) = 13.
    const estimate = estimateOf(analyzer, '{ feed(first: 2) { ... on Photo { url thumbnails { url } } ... on Article { body author { name } } } }');
    expect(estimate).toEqual({
      fieldCost: 13,
      typeCost: 13,
      breakdown: [
        { path: 'feed', cost: 3, multiplier: 1 },
        { path: 'feed.url', cost: 4, multiplier: 2 },
        { path: 'feed.thumbnails', cost: 1, multiplier: 2 },
      ],
    });
  });

  it('counts an inline fragment on one member only for that member', () => {
    // Photo selects nothing (0), Article selects body (1 * 2 = 2): 3 + 2 = 5.
    expect(estimateOf(analyzer, '{ feed(first: 2) { ... on Article { body } } }').fieldCost).toBe(5);
  });

  it('prices an interface field by its heaviest implementation', () => {
    // node: max(Photo 3, Article 1) = 3; as Photo: url 4. Total 7. Type cost: Query 1 + 3 = 4.
    expect(estimateOf(analyzer, '{ node(id: "1") { id ... on Photo { url } } }')).toMatchObject({ fieldCost: 7, typeCost: 4 });
  });
});

describe('actual cost', () => {
  const schema = schemaOf(`
    type Query {
      authors(limit: Int): [Author!]! @listSize(slicingArguments: ["limit"])
      favourite: Author @cost(weight: "5")
    }
    type Author { name: String! books(first: Int = 3): [Book!]! @listSize(slicingArguments: ["first"]) }
    type Book { title: String! reviews: [Review!]! @listSize(assumedSize: 5) }
    type Review { stars: Int! @cost(weight: "1") }
  `);
  const analyzer = createCostAnalyzer({ schema });
  const rootValue = {
    authors: () => [
      { name: 'Ann', books: [{ title: 'One', reviews: [{ stars: 5 }] }] },
      { name: 'Bob', books: [] },
    ],
    favourite: () => null,
  };

  it('counts what the response holds, with shorter lists than estimated', async () => {
    const query = '{ authors(limit: 10) { books { reviews { stars } } } }';
    const result = await graphql({ schema, source: query, rootValue });
    expect(result.errors).toBeUndefined();
    // Estimate: 1 + 10 + 30 + 150 = 191.
    // Actual: authors 1; books once per author (2); reviews once per book (1); stars once per review (1): 5.
    const document = parse(query);
    expect(analyzer.estimate(document, null, {}).fieldCost).toBe(191);
    expect(analyzer.actual(document, null, {}, result.data)).toBe(5);
  });

  it('does not count fields under a null', async () => {
    const query = '{ favourite { books { title } } }';
    const result = await graphql({ schema, source: query, rootValue });
    // Estimate: favourite 5 + books 1 = 6. Actual: favourite ran (5); it was null, so books never ran.
    expect(analyzer.estimate(parse(query), null, {}).fieldCost).toBe(6);
    expect(analyzer.actual(parse(query), null, {}, result.data)).toBe(5);
  });
});

describe('the compiled formula cache', () => {
  const sdl = `
    type Query { authors(limit: Int): [Author!]! @listSize(slicingArguments: ["limit"]) }
    type Author { name: String! books(first: Int = 3): [Book!]! @listSize(slicingArguments: ["first"]) }
    type Book { title: String! }
  `;

  it("compiles an operation once and evaluates it with each request's variables", () => {
    const analyzer = analyzerOf(sdl);
    const query = 'query($n: Int, $withBooks: Boolean!) { authors(limit: $n) { books @include(if: $withBooks) { title } } }';
    // authors 1 + books 1 per author.
    expect(analyzer.estimate(parse(query), null, { n: 2, withBooks: true }).fieldCost).toBe(3);
    expect(analyzer.estimate(parse(query), null, { n: 40, withBooks: true }).fieldCost).toBe(41);
    expect(analyzer.estimate(parse(query), null, { n: 40, withBooks: false }).fieldCost).toBe(1);
    expect(analyzer.compiledCount()).toBe(1);
    analyzer.estimate(parse('{ authors(limit: 1) { name } }'), null, {});
    expect(analyzer.compiledCount()).toBe(2);
  });

  it('keeps at most cacheSize operations, dropping the least recently used', () => {
    const analyzer = analyzerOf(sdl, { cacheSize: 2 });
    const a = '{ authors(limit: 1) { name } }';
    const b = '{ authors(limit: 2) { name } }';
    const c = '{ authors(limit: 3) { name } }';
    analyzer.estimate(parse(a), null, {});
    analyzer.estimate(parse(b), null, {});
    analyzer.estimate(parse(a), null, {}); // a is now the most recently used
    analyzer.estimate(parse(c), null, {}); // drops b
    expect(analyzer.cachedCount()).toBe(2);
    expect(analyzer.compiledCount()).toBe(3);
    analyzer.estimate(parse(a), null, {});
    expect(analyzer.compiledCount()).toBe(3);
    analyzer.estimate(parse(b), null, {});
    expect(analyzer.compiledCount()).toBe(4);
  });

  it('keeps operations of one document apart by operation name', () => {
    const analyzer = analyzerOf(sdl);
    const document = parse('query Few { authors(limit: 1) { books { title } } } query Many { authors(limit: 9) { books { title } } }');
    expect(analyzer.estimate(document, 'Few', {}).fieldCost).toBe(2);
    expect(analyzer.estimate(document, 'Many', {}).fieldCost).toBe(10);
    expect(() => analyzer.estimate(document, null, {})).toThrow('Must provide operation name if query contains multiple operations.');
  });

  it('reports variables that do not fit their types as BAD_USER_INPUT, as execution would', () => {
    const analyzer = analyzerOf(sdl);
    const error = gatewayErrorOf(() => analyzer.estimate(parse('query($n: Int) { authors(limit: $n) { name } }'), null, { n: 'many' }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('Variable "$n" got invalid value "many"; Int cannot represent non-integer value: "many"');
  });
});
