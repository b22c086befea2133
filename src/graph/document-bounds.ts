import { GraphQLError, Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/** How large and how tangled one GraphQL document may be (config `server.documentLimits`). */
export interface DocumentBounds {
  /** Lexical tokens in the whole document (graphql-js `maxTokens`). */
  maxTokens: number;
  /** Nested selection sets, fragments expanded. */
  maxDepth: number;
  /** Aliased fields in the whole document. */
  maxAliases: number;
  /** Directives in the whole document. */
  maxDirectives: number;
  /**
   * Fields answering to one response key in one selection set, fragments merged. Validation
   * compares every pair of them (OverlappingFieldsCanBeMerged): 500 copies of `x: usage { ... }`
   * in a 4 KB document cost about 0.6 s of event loop before this bound.
   */
  maxSameResponseKey: number;
}

export type BoundName = keyof DocumentBounds;

/** The first bound a document exceeds, with the value found (a lower bound when counting stopped early). */
export interface BoundViolation {
  bound: BoundName;
  limit: number;
  found: number;
  message: string;
}

/**
 * What a document within bounds tells before Apollo sees it: the root fields of each operation
 * (`Query.products`, one per response key, fragments expanded), by operation name (`''` for an
 * anonymous one). Null when the text does not parse: Apollo will say why.
 */
export type DocumentFacts = ReadonlyMap<string, readonly string[]> | null;

/**
 * Measures a document against `bounds` before anything expensive runs on it: parsing stops at
 * `maxTokens`, and the walk below is linear in the document (each fragment is measured once).
 * A document within bounds comes back with its facts; one that does not parse for another reason
 * is within bounds with null facts (Apollo answers it with GRAPHQL_PARSE_FAILED as usual, under
 * the same token bound).
 */
export function measureDocument(text: string, bounds: DocumentBounds): { violation: BoundViolation } | { violation: null; facts: DocumentFacts } {
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens: bounds.maxTokens, noLocation: true });
  } catch (error) {
    // graphql-js 16 words it "Document contains more that N tokens. Parsing aborted."
    if (error instanceof GraphQLError && /tokens\. Parsing aborted/.test(error.message)) {
      return { violation: violation('maxTokens', bounds.maxTokens, bounds.maxTokens + 1, `The document has more than ${bounds.maxTokens} tokens`) };
    }
    return { violation: null, facts: null };
  }
  const walk = new BoundsWalk(document, bounds);
  const found = walk.run();
  return found ? { violation: found } : { violation: null, facts: walk.rootFields };
}

/** The first bound `text` exceeds, or null. */
export function exceededBound(text: string, bounds: DocumentBounds): BoundViolation | null {
  return measureDocument(text, bounds).violation;
}

function violation(bound: BoundName, limit: number, found: number, what: string): BoundViolation {
  return { bound, limit, found, message: `${what}; the limit is ${limit} (server.documentLimits.${bound}). Split the operation or simplify it.` };
}

/** What one fragment contributes wherever it is spread: its depth, its response keys merged, and the field each key names. */
interface FragmentShape {
  depth: number;
  keys: Map<string, number>;
  names: Map<string, string>;
}

class BoundsWalk {
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly shapes = new Map<string, FragmentShape>();
  private readonly measuring = new Set<string>();
  /** Root fields by operation name, filled by `run`. */
  readonly rootFields = new Map<string, string[]>();
  private aliases = 0;
  private directives = 0;
  private found: BoundViolation | null = null;

  constructor(
    private readonly document: DocumentNode,
    private readonly bounds: DocumentBounds,
  ) {
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(d.name.value, d);
  }

  run(): BoundViolation | null {
    for (const definition of this.document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        this.countDirectives(definition.directives?.length ?? 0);
        const shape = this.selectionSet(definition.selectionSet);
        const depth = shape.depth;
        const type = definition.operation === 'mutation' ? 'Mutation' : definition.operation === 'subscription' ? 'Subscription' : 'Query';
        const fields = [...shape.keys.keys()].flatMap((key) => {
          const name = shape.names.get(key);
          return name && !name.startsWith('__') ? [`${type}.${name}`] : [];
        });
        this.rootFields.set(definition.name?.value ?? '', fields);
        if (!this.found && depth > this.bounds.maxDepth)
          this.found = violation('maxDepth', this.bounds.maxDepth, depth, `The operation nests ${depth} selection sets deep`);
      } else if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        this.fragment(definition.name.value);
      }
      if (this.found) return this.found;
    }
    return this.found;
  }

  /** Depth and merged response keys of a selection set; records the first bound exceeded. */
  private selectionSet(set: SelectionSetNode): FragmentShape {
    const keys = new Map<string, number>();
    const names = new Map<string, string>();
    let depth = 1;
    const add = (key: string, count: number, name: string | undefined) => {
      if (name !== undefined && !names.has(key)) names.set(key, name);
      const total = (keys.get(key) ?? 0) + count;
      keys.set(key, total);
      if (!this.found && total > this.bounds.maxSameResponseKey) {
        this.found = violation(
          'maxSameResponseKey',
          this.bounds.maxSameResponseKey,
          total,
          `${total} fields answer to the response key "${key}" in one selection set`,
        );
      }
    };
    for (const selection of set.selections) {
      if (this.found) break;
      this.countDirectives(selection.directives?.length ?? 0);
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) this.countAlias();
        add(selection.alias?.value ?? selection.name.value, 1, selection.name.value);
        if (selection.selectionSet) depth = Math.max(depth, 1 + this.selectionSet(selection.selectionSet).depth);
      } else {
        const shape = selection.kind === Kind.INLINE_FRAGMENT ? this.selectionSet(selection.selectionSet) : this.fragment(selection.name.value);
        for (const [key, count] of shape.keys) add(key, count, shape.names.get(key));
        depth = Math.max(depth, shape.depth);
      }
    }
    return { depth, keys, names };
  }

  /** A named fragment's shape, measured once; unknown or cyclic spreads count as empty (validation reports them). */
  private fragment(name: string): FragmentShape {
    const known = this.shapes.get(name);
    if (known) return known;
    const definition = this.fragments.get(name);
    if (!definition || this.measuring.has(name)) return { depth: 0, keys: new Map(), names: new Map() };
    this.measuring.add(name);
    this.countDirectives(definition.directives?.length ?? 0);
    const shape = this.selectionSet(definition.selectionSet);
    this.measuring.delete(name);
    this.shapes.set(name, shape);
    return shape;
  }

  private countAlias(): void {
    this.aliases++;
    if (!this.found && this.aliases > this.bounds.maxAliases) {
      this.found = violation('maxAliases', this.bounds.maxAliases, this.aliases, `The document has more than ${this.bounds.maxAliases} aliases`);
    }
  }

  private countDirectives(count: number): void {
    this.directives += count;
    if (!this.found && this.directives > this.bounds.maxDirectives) {
      this.found = violation('maxDirectives', this.bounds.maxDirectives, this.directives, `The document has more than ${this.bounds.maxDirectives} directives`);
    }
  }
}
