import { defaultFieldResolver, GraphQLNonNull, type GraphQLSchema } from 'graphql';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayContext } from './context.js';

/**
 * `@auth(requires: [Role!]!)` (declared in schema/directives.graphql): wraps each marked field's
 * resolver with a role check that runs before it, so a forbidden field never reaches a
 * downstream service. The field resolves to null with a FORBIDDEN error; since only nullable
 * fields may carry the directive (checked here, at start), the rest of the response is served.
 */
export function authDirectiveTransformer(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const directive = getDirective(schema, field, 'auth')?.[0];
      if (!directive) return field;
      if (field.type instanceof GraphQLNonNull) {
        throw new Error(`@auth on ${typeName}.${fieldName} needs a nullable type (it is ${String(field.type)}): a forbidden field resolves to null`);
      }
      const allowed = new Set((directive.requires as string[]).map((r) => r.toLowerCase()));
      const resolve = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve(source, args, ctx: GatewayContext, info) {
          const p = ctx.principal;
          if (p.kind === 'platformAdmin' || !allowed.has(p.role)) {
            throw new GatewayError('FORBIDDEN', `${typeName}.${fieldName} requires one of the roles: ${[...allowed].join(', ')}`, {
              extensions: { requiredRoles: [...allowed].map((r) => r.toUpperCase()) },
            });
          }
          return resolve(source, args, ctx, info);
        },
      };
    },
  });
}
