import {
  getNamedType,
  isInputObjectType,
  isLeafType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/**
 * Which object a cached value belongs to, computed per call: `parent` goes into the entry's hash
 * (null at the root), `tag` names the invalidation tag the entry is checked against. Undefined
 * when the parent object has no usable id, and the call is then not cached.
 */
export type Identify = (source: unknown, args: Record<string, unknown>) => { parent: string | null; tag: string } | undefined;

/**
 * The identity rule of a @cached field, decided at start:
 * - below the root, the parent object: `Customer:cus_1` from its `id`; a type without an `id`
 *   field only when it is a singleton (every field returning it is an argument-less Query field,
 *   so there is one per caller: `Dashboard`), else a start-up error;
 * - at the root, the object returned: `Product:{id}` when the field has an `id` argument, else
 *   the bare return type (`Product` for `products`).
 * Ids come from the tenant's own data and keys carry the tenant, so `Customer:cus_1` of two
 * tenants never meet.
 */
export function identityRule(schema: GraphQLSchema, parentType: GraphQLObjectType, field: GraphQLField<unknown, unknown>): Identify {
  const coordinate = `${parentType.name}.${field.name}`;
  if (isRootType(schema, parentType)) {
    const returned = getNamedType(field.type).name;
    if (field.args.some((arg) => arg.name === 'id')) {
      return (_source, args) => {
        const id = args['id'];
        return typeof id === 'string' || typeof id === 'number' ? { parent: null, tag: `${returned}:${id}` } : undefined;
      };
    }
    return () => ({ parent: null, tag: returned });
  }
  if (parentType.getFields()['id']) {
    const typeName = parentType.name;
    return (source) => {
      const id = (source as { id?: unknown } | null)?.id;
      if (typeof id !== 'string' && typeof id !== 'number') return undefined;
      const identity = `${typeName}:${id}`;
      return { parent: identity, tag: identity };
    };
  }
  const elsewhere = fieldsReturning(schema, parentType).filter(({ owner, field: f }) => owner !== schema.getQueryType() || f.args.length > 0);
  if (elsewhere.length > 0) {
    throw new Error(
      `@cached on ${coordinate}: ${parentType.name} has no id field, and is not one object per caller (it is returned by ` +
        `${elsewhere.map(({ owner, field: f }) => `${owner.name}.${f.name}`).join(', ')}): its entries could not tell two ${parentType.name} objects apart`,
    );
  }
  const identity = parentType.name;
  return () => ({ parent: identity, tag: identity });
}

/** Tags a mutation drops, from its arguments. */
export type InvalidationTags = (args: Record<string, unknown>) => string[];

const TEMPLATE = /^([_A-Za-z][_0-9A-Za-z]*)(?::\{([_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*)\})?$/;

/**
 * Compiles `@invalidates(tags: [...])` of one mutation: `Type` or `Type:{argument.path}`, checked
 * at start (the type exists, the path follows the field's arguments and input fields to a scalar).
 * A path through lists yields one tag per value; absent and null values yield none.
 */
export function compileInvalidation(schema: GraphQLSchema, coordinate: string, field: GraphQLField<unknown, unknown>, templates: readonly string[]): InvalidationTags {
  const parts = templates.map((template) => {
    const match = TEMPLATE.exec(template);
    if (!match) throw new Error(`@invalidates on ${coordinate}: tag "${template}" must look like Type or Type:{argument.path}`);
    const [, typeName, path] = match as unknown as [string, string, string | undefined];
    if (!isObjectType(schema.getType(typeName))) throw new Error(`@invalidates on ${coordinate}: tag "${template}" names no object type "${typeName}"`);
    if (path === undefined) return { typeName, path: null };
    const segments = path.split('.');
    const arg = field.args.find((a) => a.name === segments[0]);
    if (!arg) throw new Error(`@invalidates on ${coordinate}: tag "${template}": ${coordinate} has no argument "${segments[0]}"`);
    let type: GraphQLInputType = arg.type;
    for (const segment of segments.slice(1)) {
      const named = getNamedType(type);
      const next = isInputObjectType(named) ? named.getFields()[segment] : undefined;
      if (!next) throw new Error(`@invalidates on ${coordinate}: tag "${template}": ${named.name} has no input field "${segment}"`);
      type = next.type;
    }
    if (!isLeafType(getNamedType(type))) throw new Error(`@invalidates on ${coordinate}: tag "${template}" must end at a scalar, not ${String(type)}`);
    return { typeName, path: segments };
  });
  return (args) => {
    const tags = new Set<string>();
    for (const { typeName, path } of parts) {
      if (!path) tags.add(typeName);
      else for (const value of valuesAt(args, path)) tags.add(`${typeName}:${value}`);
    }
    return [...tags];
  };
}

function valuesAt(value: unknown, path: readonly string[]): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return typeof value === 'string' || typeof value === 'number' ? [String(value)] : [];
  return typeof value === 'object' ? valuesAt((value as Record<string, unknown>)[path[0]!], path.slice(1)) : [];
}

function isRootType(schema: GraphQLSchema, type: GraphQLObjectType): boolean {
  return type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType();
}

function fieldsReturning(schema: GraphQLSchema, target: GraphQLObjectType) {
  const found: { owner: GraphQLObjectType; field: GraphQLField<unknown, unknown> }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type) === target) found.push({ owner: type, field });
    }
  }
  return found;
}
