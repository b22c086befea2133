import { isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { getDirective } from '@graphql-tools/utils';

/** What the schema declares about one field's price and limits. */
export interface FieldLimitInfo {
  coordinate: string;
  /** `@cost(weight:)` on the field, if any. */
  cost: string | null;
  /** `@listSize` arguments, if any. */
  listSize: { assumedSize?: number; slicingArguments?: string[]; sizedFields?: string[] } | null;
  /** `@rateLimit` on the field (or its type), if any. */
  rateLimit: { limit: number; duration: number } | null;
}

/** Every object field that carries @cost, @listSize or @rateLimit, in schema order. */
export function schemaLimits(schema: GraphQLSchema): FieldLimitInfo[] {
  const out: FieldLimitInfo[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRateLimit = getDirective(schema, type, 'rateLimit')?.[0];
    for (const field of Object.values(type.getFields())) {
      const info = fieldLimits(schema, `${type.name}.${field.name}`, field, typeRateLimit);
      if (info.cost !== null || info.listSize !== null || info.rateLimit !== null) out.push(info);
    }
  }
  return out;
}

function fieldLimits(
  schema: GraphQLSchema,
  coordinate: string,
  field: GraphQLField<unknown, unknown>,
  typeRateLimit: Record<string, unknown> | undefined,
): FieldLimitInfo {
  const cost = getDirective(schema, field, 'cost')?.[0];
  const listSize = getDirective(schema, field, 'listSize')?.[0];
  const rateLimit = getDirective(schema, field, 'rateLimit')?.[0] ?? typeRateLimit;
  return {
    coordinate,
    cost: cost ? String(cost.weight) : null,
    listSize: listSize ? (listSize as FieldLimitInfo['listSize']) : null,
    rateLimit: rateLimit ? { limit: Number(rateLimit.limit), duration: Number(rateLimit.duration) } : null,
  };
}

/** One sentence for a field's description, e.g. "Cost: 10. List size: up to `first`. Rate limit: 30 calls per 60 s per tenant." */
export function describeFieldLimits(info: FieldLimitInfo): string {
  const parts: string[] = [];
  if (info.cost !== null) parts.push(`Cost: ${info.cost} per call.`);
  if (info.listSize) parts.push(`List size: ${describeListSize(info.listSize)}`);
  if (info.rateLimit) parts.push(`Rate limit: ${info.rateLimit.limit} calls per ${info.rateLimit.duration} s per tenant.`);
  return parts.join(' ');
}

/**
 * A field's `@listSize` as a sentence for people (the docs page and field descriptions), e.g.
 * "as many items as `first` asks for." or "priced as 12 items." Mirrors how the analyzer sizes a
 * list (cost/compile.ts): the slicing argument's value, else `assumedSize`, else the default.
 */
export function describeListSize(listSize: NonNullable<FieldLimitInfo['listSize']>): string {
  const { slicingArguments, assumedSize, sizedFields } = listSize;
  const code = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');
  let size: string;
  if (slicingArguments?.length === 1) size = `as many items as ${code(slicingArguments)} asks for`;
  else if (slicingArguments?.length) size = `as many items as the largest of ${code(slicingArguments)} asks for`;
  else if (assumedSize !== undefined) size = `priced as ${assumedSize} items (its length is not known before it runs)`;
  else size = 'priced at the default list size';
  return `${size}${sizedFields?.length ? `, counted on ${code(sizedFields)}` : ''}.`;
}
