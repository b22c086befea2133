/**
 * Prices an operation against the schema without a server:
 *
 *   npm run cost -- --query q.graphql [--variables v.json] [--schema dir] [--operation Name]
 *
 * or, with `calibrate` first, prints a running gateway's cost calibration (calibration/calibrate-command.ts).
 *
 * Prints the field cost, the type cost and the cost per response path. A file that cannot be
 * read, a syntax error, an operation that is not valid against the schema, or one that cannot be
 * priced is reported on stderr with exit code 1.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildSchema, GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type SourceLocation } from 'graphql';
import { loadSchemaSdl, SCHEMA_DIR } from '../graph/load-schema.js';
import { isPlainObject } from '../jsutils/is-plain-object.js';
import { CalibrateError, calibrateCommand } from '../calibration/calibrate-command.js';
import { createCostAnalyzer, type CostAnalyzer, type CostEstimate } from './analyzer.js';

const USAGE = 'usage: npm run cost -- --query <file.graphql> [--variables <file.json>] [--schema <dir>] [--operation <name>]';

/** An error the user can fix: printed as it is, without a stack. */
class CliError extends Error {}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'calibrate') {
    process.stdout.write(await calibrateCommand(argv.slice(1), process.env));
    return;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      query: { type: 'string' },
      variables: { type: 'string' },
      schema: { type: 'string' },
      operation: { type: 'string' },
    },
    strict: true,
  });
  if (!values.query) throw new CliError(`--query is required\n${USAGE}`);

  const schemaDir = values.schema ?? SCHEMA_DIR;
  const sdl = await loadSchemaSdl(schemaDir).catch(rethrow(`cannot load the schema from ${schemaDir}`));
  let schema: GraphQLSchema;
  let analyzer: CostAnalyzer;
  try {
    schema = buildSchema(sdl);
    analyzer = createCostAnalyzer({ schema });
  } catch (err) {
    throw new CliError(`the schema in ${schemaDir} is not usable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const queryText = await readFile(values.query, 'utf8').catch(rethrow(`cannot read query file ${values.query}`));
  const file = values.query;
  const document = parseQuery(queryText, file);
  const errors = validate(schema, document);
  if (errors.length > 0) {
    throw new CliError(`${file} is not valid against the schema:\n${errors.map((e) => `  ${where(file, e.locations)}${e.message}`).join('\n')}`);
  }
  const variables = values.variables ? await readVariables(values.variables) : {};

  let estimate: CostEstimate;
  try {
    estimate = analyzer.estimate(document, values.operation ?? null, variables);
  } catch (err) {
    throw new CliError(`cannot price ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const warning of analyzer.warnings) process.stderr.write(`note: ${warning}\n`);
  process.stdout.write(report(estimate));
}

function parseQuery(text: string, file: string): DocumentNode {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof GraphQLError) throw new CliError(`${where(file, err.locations) || `${file}: `}${err.message}`);
    throw err;
  }
}

async function readVariables(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8').catch(rethrow(`cannot read variables file ${path}`));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`variables file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) throw new CliError(`variables file ${path} must hold a JSON object of variable values`);
  return value;
}

function where(file: string, locations: readonly SourceLocation[] | undefined): string {
  const at = locations?.[0];
  return at ? `${file}:${at.line}:${at.column}: ` : '';
}

function rethrow(what: string): (err: unknown) => never {
  return (err) => {
    throw new CliError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  };
}

/** The estimate as a table: per response path, cost per call x calls = total. */
function report(estimate: CostEstimate): string {
  const rows = estimate.breakdown.map((e) => [e.path, format(e.cost), format(e.multiplier), format(e.cost * e.multiplier)]);
  const header = ['path', 'cost/call', 'calls', 'total'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    `field cost  ${format(estimate.fieldCost)}`,
    `type cost   ${format(estimate.typeCost)}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError || err instanceof CalibrateError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`cost: ${err.message}\n`);
  } else {
    process.stderr.write(`cost: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exitCode = 1;
});
