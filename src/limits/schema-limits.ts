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
  if (info.listSize) {
    const { slicingArguments, assumedSize, sizedFields } = info.listSize;
    const size = slicingArguments?.length ? `the largest of \`${slicingArguments.join('`, `')}\`` : `assumed ${assumedSize ?? 'default'}`;
    parts.push(`List size: ${size}${sizedFields?.length ? ` (sizes ${sizedFields.join(', ')})` : ''}.`);
  }
  if (info.rateLimit) parts.push(`Rate limit: ${info.rateLimit.limit} calls per ${info.rateLimit.duration} s per tenant.`);
  return parts.join(' ');
}
