import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { Kind, type ConstDirectiveNode, type GraphQLSchema } from 'graphql';

/**
 * The schema with `@listSize(assumedSize:)` set on the given fields (`Order.items` -> 3): an
 * existing `@listSize` keeps its other arguments, a field without one gets one. What the cost
 * analyzer would price if the suggestions were applied to `schema/*.graphql`.
 */
export function withAssumedSizes(schema: GraphQLSchema, sizes: ReadonlyMap<string, number>): GraphQLSchema {
  if (sizes.size === 0) return schema;
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const size = sizes.get(`${typeName}.${fieldName}`);
      if (size === undefined || !field.astNode) return field;
      const value = { kind: Kind.INT, value: String(size) } as const;
      const assumed = { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'assumedSize' }, value } as const;
      const directives = field.astNode.directives ?? [];
      const existing = directives.find((d) => d.name.value === 'listSize');
      const listSize: ConstDirectiveNode = existing
        ? { ...existing, arguments: [...(existing.arguments ?? []).filter((a) => a.name.value !== 'assumedSize'), assumed] }
        : { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'listSize' }, arguments: [assumed] };
      const next = existing ? directives.map((d) => (d === existing ? listSize : d)) : [...directives, listSize];
      return { ...field, astNode: { ...field.astNode, directives: next } };
    },
  });
}
