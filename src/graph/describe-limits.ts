import type { GraphQLSchema } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import type { Config } from '../config/schema.js';
import { describeFieldLimits, schemaLimits } from '../limits/schema-limits.js';

/**
 * Appends each field's price and limits to its description, so any GraphQL IDE shows them next
 * to the field: the schema's @cost/@listSize/@rateLimit, and the per-plan root field limits from
 * config as loaded at start (a reloaded config changes enforcement at once, these texts at the
 * next start; /docs/limits always shows the live values).
 */
export function describeLimits(schema: GraphQLSchema, config: Config): GraphQLSchema {
  const byCoordinate = new Map(schemaLimits(schema).map((info) => [info.coordinate, describeFieldLimits(info)]));
  const planLines = new Map<string, string[]>();
  for (const [planId, plan] of Object.entries(config.plans)) {
    for (const [coordinate, rule] of Object.entries(plan.limits.fieldLimits ?? {})) {
      const lines = planLines.get(coordinate) ?? [];
      lines.push(`${plan.displayName} (${planId}): ${rule.limit} per ${rule.windowSeconds} s`);
      planLines.set(coordinate, lines);
    }
  }
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const coordinate = `${typeName}.${fieldName}`;
      const extra = [byCoordinate.get(coordinate), planLines.has(coordinate) ? `Plan limits: ${planLines.get(coordinate)!.join('; ')}.` : '']
        .filter(Boolean)
        .join(' ');
      if (!extra) return field;
      return { ...field, description: field.description ? `${field.description}\n\n${extra}` : extra };
    },
  });
}
