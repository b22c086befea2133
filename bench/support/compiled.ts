import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BARE_SOURCE = join(ROOT, 'bench/support/bare-apollo-server.ts');
/**
 * The bare Apollo server compiled, beside dist/'s depth: from `bench/.compiled/`, `../../dist/`
 * is the gateway's compiled build, which its imports of `../../src/` are pointed at (so the
 * schema, resolvers and sample services it serves are the same compiled modules the gateway runs).
 */
export const COMPILED_BARE_ENTRY = join(ROOT, 'bench/.compiled/bare-apollo-server.js');

let prepared: Promise<void> | undefined;

/**
 * For `--compiled`: the gateway's compiled build (`scripts/build.mjs --if-stale --only server`,
 * what `npm start` runs), and the bare Apollo server compiled by the same TypeScript with the
 * same options (tsconfig.json's; `transpileModule`: types are already checked by `tsc --noEmit`),
 * so the two compared are compiled alike. Once per bench process.
 */
export function prepareCompiled(log: (line: string) => void): Promise<void> {
  prepared ??= (async () => {
    const started = Date.now();
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale', '--only', 'server'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`compiled build failed (${build.status ?? build.signal}):\n${build.stdout}${build.stderr}`);
    const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile) as { config: { compilerOptions: object } };
    const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
    const source = await readFile(BARE_SOURCE, 'utf8');
    // `module` as tsc resolves NodeNext for a file of this `"type": "module"` package: ES modules
    // (transpileModule alone cannot read package.json, and would emit CommonJS).
    const { outputText } = ts.transpileModule(source, { compilerOptions: { ...options, module: ts.ModuleKind.ESNext, noEmit: false }, fileName: BARE_SOURCE });
    const pointed = outputText.replaceAll("from '../../src/", "from '../../dist/");
    if (pointed.includes("'../../src/")) throw new Error('bare-apollo-server.ts: an import of src/ was not pointed at dist/');
    await mkdir(dirname(COMPILED_BARE_ENTRY), { recursive: true });
    await writeFile(COMPILED_BARE_ENTRY, pointed);
    log(`compiled build ready (${((Date.now() - started) / 1000).toFixed(1)} s): dist/main.js, ${COMPILED_BARE_ENTRY.slice(ROOT.length + 1)}`);
  })();
  return prepared;
}
