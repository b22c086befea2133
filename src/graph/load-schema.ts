import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `schema/` folder: the SDL files are the source of truth for the API. */
export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');

/**
 * Reads every `*.graphql` file of a folder, in name order so the result (and so codegen's output
 * and the schema hash) does not depend on the file system's listing order.
 */
export async function loadSchemaSdl(dir: string = SCHEMA_DIR): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.graphql')).sort();
  if (files.length === 0) throw new Error(`no .graphql files in schema folder: ${dir}`);
  const parts = await Promise.all(files.map(async (f) => `# ${f}\n${await readFile(join(dir, f), 'utf8')}`));
  return parts.join('\n');
}
