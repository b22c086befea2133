import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder above this file's: `src/` under tsx, `dist/` in the compiled build (what runs either way). */
const SRC_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Folders whose code decides what a cached field resolves to: the resolvers, the loaders and
 * clients they call, the cache itself (what it stores and how), and the graph wiring (context).
 * The embedded sample services are added when the gateway serves from them.
 */
export const VALUE_CODE_DIRS = ['resolvers', 'downstream', 'cache', 'graph'] as const;

/**
 * A SHA-256 (first 12 hex digits) over the source files under `dirs` (relative to `root`, default
 * `src/`), by path and content: it goes into the cache version (cache-keys.ts), so a deploy that
 * changes the code producing values starts from empty keys instead of serving what the old code
 * stored. Read once at start, from the files that run: the sources under tsx, the compiled build's
 * `dist/` under `npm start` (so the two hash differently: a fleet runs one or the other).
 */
export function codeVersion(dirs: readonly string[], root = SRC_DIR): string {
  const hash = createHash('sha256');
  for (const dir of [...dirs].sort()) {
    for (const file of listFiles(join(root, dir))) {
      hash.update(`${relative(root, file)}\n`);
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 12);
}

function listFiles(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}
