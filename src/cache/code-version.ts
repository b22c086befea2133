import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `src/`, next to this file's folder: where the code that produces cached values lives. */
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
 * stored. Read once at start; the gateway runs from these sources (tsx), so they are what runs.
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
