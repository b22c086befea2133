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
import { isCanonicalId } from '../downstream/ids.js';

/**
 * Which object a cached value belongs to, computed per call: `parent` goes into the entry's hash
 * (null at the root), `tag` names the invalidation tag the entry is checked against, and `owns`
 * says whether a value is the object the key names (checked before it is stored). Undefined when
 * the object has no canonical id, and the call is then not cached.
 */
export type Identify = (source: unknown, args: Record<string, unknown>) => { parent: string | null; tag: string; owns(value: unknown): boolean } | undefined;

/**
 * `Type:id`, the one spelling of an object's tag, for entries and invalidations alike; undefined
 * for an id outside the id grammar (downstream/ids.ts), which names no object anyone can store.
 */
export function tagOf(typeName: string, id: unknown): string | undefined {
  const text = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
  return isCanonicalId(text) ? `${typeName}:${text}` : undefined;
}

/**
 * The identity rule of a @cached field, decided at start:
 * - below the root, the parent object: `Customer:cus_1` from its `id`; a type without an `id`
 *   field only when it is a singleton (every field returning it is an argument-less Query field,
 *   so there is one per caller: `Dashboard`), else a start-up error;
 * - at the root, the object returned: `Product:{id}` when the field has an `id` argument, else
 *   the bare return type (`Product` for `products`).
 * What may be stored (`owns`): at the root by id, null or the object whose own `id` is the
 * argument; below the root, a value (or list item) that names an owner of the parent's type
 * (`productId` on a Stock under Product, `customerId` on an Order under Customer) must name the
 * parent. Ids come from the tenant's own data and keys carry the tenant, so `Customer:cus_1` of
 * two tenants never meet.
 */
export function identityRule(schema: GraphQLSchema, parentType: GraphQLObjectType, field: GraphQLField<unknown, unknown>): Identify {
  const coordinate = `${parentType.name}.${field.name}`;
  if (isRootType(schema, parentType)) {
    const returned = getNamedType(field.type);
    if (field.args.some((arg) => arg.name === 'id')) {
      const hasId = isObjectType(returned) && Boolean(returned.getFields().id);
      return (_source, args) => {
        const tag = tagOf(returned.name, args.id);
        if (!tag) return undefined;
        const id = tag.slice(returned.name.length + 1);
        return { parent: null, tag, owns: (value) => !hasId || value === null || ownId(value) === id };
      };
    }
    return () => ({ parent: null, tag: returned.name, owns: () => true });
  }
  if (parentType.getFields().id) {
    const typeName = parentType.name;
    const ownerKey = `${typeName[0]!.toLowerCase()}${typeName.slice(1)}Id`;
    return (source) => {
      const identity = tagOf(typeName, (source as { id?: unknown } | null)?.id);
      if (!identity) return undefined;
      const id = identity.slice(typeName.length + 1);
      return { parent: identity, tag: identity, owns: (value) => namesOwner(value, ownerKey, id) };
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
  return () => ({ parent: identity, tag: identity, owns: () => true });
}

function ownId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' ? String(id) : typeof id === 'string' ? id : undefined;
}

/** False when `value`, or an item of it, carries `ownerKey` with another id than `id`. */
function namesOwner(value: unknown, ownerKey: string, id: string): boolean {
  if (Array.isArray(value)) return value.every((item) => namesOwner(item, ownerKey, id));
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, ownerKey)) return true;
  const owner = (value as Record<string, unknown>)[ownerKey];
  return String(owner) === id;
}

/** Tags a mutation drops, from its arguments and from the object(s) it returned. */
export type InvalidationTags = (args: Record<string, unknown>, result: unknown) => string[];

const TEMPLATE = /^([_A-Za-z][_0-9A-Za-z]*)(?::\{([_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*)\})?$/;

/**
 * Compiles `@invalidates(tags: [...])` of one mutation: `Type` or `Type:{argument.path}`, checked
 * at start (the type exists, the path follows the field's arguments and input fields to a scalar).
 * A path through lists yields one tag per value; absent and null values yield none. Besides the
 * templates, a mutation returning an object type with an `id` also drops that object's tag
 * (`Customer:cus_18` after updateCustomer), from the id the service answered.
 */
export function compileInvalidation(
  schema: GraphQLSchema,
  coordinate: string,
  field: GraphQLField<unknown, unknown>,
  templates: readonly string[],
): InvalidationTags {
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
  const returned = getNamedType(field.type);
  const returnsIdentified = isObjectType(returned) && Boolean(returned.getFields().id);
  return (args, result) => {
    const tags = new Set<string>();
    const add = (tag: string | undefined) => tag && tags.add(tag);
    for (const { typeName, path } of parts) {
      if (!path) tags.add(typeName);
      else for (const value of valuesAt(args, path)) add(tagOf(typeName, value));
    }
    if (returnsIdentified) for (const item of [result].flat(2)) add(tagOf(returned.name, ownId(item)));
    return [...tags];
  };
}

function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return typeof value === 'string' || typeof value === 'number' ? [value] : [];
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
