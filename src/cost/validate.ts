import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  GraphQLInt,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { costWeightText, listSizeOf, parseWeight } from './directives.js';

/** The list size a list field without `@listSize` is assumed to have, unless configured. */
export const DEFAULT_LIST_SIZE = 10;

/**
 * Checks the schema's `@cost` and `@listSize` applications against the validation section of the
 * IBM GraphQL Cost Directive specification, at start, so a typo cannot silently price a field at
 * the default. Throws one Error listing every problem, each with its schema coordinate; returns
 * the warnings worth a log line (list fields that will be priced at the default size).
 */
export function validateCostDirectives(schema: GraphQLSchema, options: { defaultListSize?: number } = {}): { warnings: string[] } {
  const defaultListSize = options.defaultListSize ?? DEFAULT_LIST_SIZE;
  const problems: string[] = [];
  const warnings: string[] = [];
  const types = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__'));

  const checkWeight = (coordinate: string, element: Parameters<typeof costWeightText>[1]) => {
    const text = costWeightText(schema, element);
    if (text !== undefined && parseWeight(text) === null) {
      problems.push(`${coordinate}: @cost weight must be a number in a string, like "2.5": "${text}"`);
    }
    return text !== undefined;
  };

  // Fields named in some @listSize(sizedFields:) are sized by that field, not by the default.
  const sizedByParent = new Set<string>();

  for (const type of types) {
    checkWeight(type.name, type);
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) checkWeight(`${type.name}.${field.name}`, field);
      continue;
    }
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const onInterface = isInterfaceType(type);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (checkWeight(coordinate, field) && onInterface) {
        problems.push(`${coordinate}: @cost is not allowed on interface fields; put it on the fields of the object types that implement ${type.name}`);
      }
      for (const arg of field.args) {
        if (checkWeight(`${coordinate}(${arg.name}:)`, arg) && onInterface) {
          problems.push(`${coordinate}(${arg.name}:): @cost is not allowed on arguments of interface fields; put it on the object types' fields`);
        }
      }
      checkListSize(schema, type, field, problems, sizedByParent);
    }
  }

  for (const type of types) {
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (isListType(getNullableType(field.type)) && !listSizeOf(schema, field) && !sizedByParent.has(coordinate)) {
        warnings.push(`${coordinate}: list field without @listSize, priced as ${defaultListSize} items`);
      }
    }
  }

  if (problems.length > 0) {
    throw new Error(
      `invalid @cost/@listSize in the schema (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return { warnings };
}

function checkListSize(
  schema: GraphQLSchema,
  type: GraphQLObjectType | GraphQLInterfaceType,
  field: GraphQLField<unknown, unknown>,
  problems: string[],
  sizedByParent: Set<string>,
): void {
  const listSize = listSizeOf(schema, field);
  if (!listSize) return;
  const coordinate = `${type.name}.${field.name}`;
  const { assumedSize, slicingArguments, sizedFields, requireOneSlicingArgument } = listSize;

  // Valid List Size Target: the field returns a list, or names the lists it sizes.
  if (!isListType(getNullableType(field.type)) && sizedFields.length === 0) {
    problems.push(
      `${coordinate}: @listSize on a field that returns ${String(field.type)}, which is not a list; add sizedFields naming the lists it sizes, or remove it`,
    );
  }
  // Valid Assumed Size.
  if (assumedSize !== null && assumedSize < 0) {
    problems.push(`${coordinate}: assumedSize must not be negative: ${assumedSize}`);
  }
  if (assumedSize !== null && slicingArguments.length > 0 && requireOneSlicingArgument) {
    problems.push(
      `${coordinate}: assumedSize ${assumedSize} is never used, because requireOneSlicingArgument makes a slicing argument (${slicingArguments.join(', ')}) always given; remove assumedSize or set requireOneSlicingArgument: false`,
    );
  }
  // Valid Slicing Arguments Target: arguments of the field, of type Int or Int!.
  for (const name of slicingArguments) {
    const arg = field.args.find((a) => a.name === name);
    if (!arg) {
      problems.push(`${coordinate}: slicingArguments names "${name}", which is not an argument`);
    } else if (!isIntType(arg.type)) {
      problems.push(`${coordinate}: slicing argument "${name}" must be Int or Int!, not ${String(arg.type)}`);
    }
  }
  // Valid Sized Fields Target: list fields of the returned type.
  if (sizedFields.length > 0) {
    const returned = getNamedType(field.type);
    if (!isObjectType(returned) && !isInterfaceType(returned)) {
      problems.push(`${coordinate}: sizedFields needs a field that returns an object or interface type, not ${returned.name}`);
      return;
    }
    const fields = returned.getFields();
    for (const name of sizedFields) {
      const sized = fields[name];
      if (!sized) {
        problems.push(`${coordinate}: sizedFields names "${name}", which is not a field of ${returned.name}`);
      } else if (!isListType(getNullableType(sized.type))) {
        problems.push(`${coordinate}: sizedFields names "${name}", but ${returned.name}.${name} returns ${String(sized.type)}, which is not a list`);
      } else {
        for (const possible of isInterfaceType(returned) ? schema.getPossibleTypes(returned) : [returned]) {
          sizedByParent.add(`${possible.name}.${name}`);
        }
      }
    }
  }
}

function isIntType(type: GraphQLInputType): boolean {
  const nullable = isNonNullType(type) ? type.ofType : type;
  // By name, not identity: a schema built by another copy of graphql has its own Int instance.
  return isScalarType(nullable) && nullable.name === GraphQLInt.name;
}
