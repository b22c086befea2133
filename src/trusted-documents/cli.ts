/**
 * Registers an app's trusted documents with a running gateway, from the file its build writes:
 *
 *   npm run documents -- register <manifest.json> [--url http://127.0.0.1:4000] [--key <admin key>]
 *   npm run documents -- list [--url ...] [--key ...]
 *
 * The key is a tenant admin's secret API key (or GATEWAY_API_KEY). Prints each document's id,
 * name and price (cost points, and whether it fits the plan's maximum per operation). Any problem
 * (a bad file, an invalid document, a refused key) is printed on stderr with exit code 1, and
 * nothing is registered.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readManifest } from './manifest.js';
import type { TrustedDocumentInput } from './registry.js';

const USAGE = 'usage: npm run documents -- register <manifest.json> | list  [--url http://127.0.0.1:4000] [--key <tenant admin key>]';

const FIELDS = 'id name cost typeCost withinPlan operations { name type rootFields }';

class CliError extends Error {}

interface Row {
  id: string;
  name: string | null;
  cost: number | null;
  typeCost: number | null;
  withinPlan: boolean | null;
  operations: { name: string | null; type: string; rootFields: string[] }[];
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { url: { type: 'string', default: 'http://127.0.0.1:4000' }, key: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const key = values.key ?? process.env.GATEWAY_API_KEY;
  if (!key) throw new CliError(`a tenant admin key is required: --key or GATEWAY_API_KEY\n${USAGE}`);
  const [command, file] = positionals;
  if (command === 'register' && file) {
    const text = await readFile(file, 'utf8').catch((e: Error) => {
      throw new CliError(`cannot read ${file}: ${e.message}`);
    });
    let documents: TrustedDocumentInput[];
    try {
      documents = readManifest(JSON.parse(text));
    } catch (e) {
      throw new CliError(`${file}: ${(e as Error).message}`);
    }
    const data = await call(
      values.url,
      key,
      `mutation Register($documents: [TrustedDocumentInput!]!) { registerTrustedDocuments(documents: $documents) { ${FIELDS} } }`,
      { documents },
    );
    print(data.registerTrustedDocuments as Row[], `registered ${documents.length} document(s)`);
  } else if (command === 'list') {
    const data = await call(values.url, key, `{ trustedDocuments { ${FIELDS} } }`, {});
    print(data.trustedDocuments as Row[], 'registered documents');
  } else {
    throw new CliError(USAGE);
  }
}

async function call(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(new URL('/graphql', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  }).catch((e: Error) => {
    throw new CliError(`cannot reach ${url}: ${e.message}`);
  });
  const body = (await response.json().catch(() => null)) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  } | null;
  if (!body) throw new CliError(`${url} answered HTTP ${response.status} without a GraphQL body`);
  if (body.errors?.length) throw new CliError(body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n'));
  return body.data ?? {};
}

function print(rows: Row[], title: string): void {
  console.log(`${title}:`);
  for (const row of rows) {
    const price =
      row.cost === null
        ? 'not priced (give example variables)'
        : `cost ${row.cost}, type cost ${row.typeCost}${row.withinPlan === false ? ', ABOVE the plan maximum per operation' : ''}`;
    const fields = [...new Set(row.operations.flatMap((o) => o.rootFields))].join(' ');
    console.log(`  ${row.id}  ${row.name ?? '(anonymous)'}  ${price}  [${fields}]`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof CliError ? error.message : error);
  process.exit(1);
});
