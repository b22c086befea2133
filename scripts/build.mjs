#!/usr/bin/env node
// The production build: the server compiled by tsc into dist/ (with the Lua scripts it reads next
// to its modules), the dashboard into dashboard/dist/ and the IDE into ide/dist/ (Vite).
//
//   node scripts/build.mjs                       # build all three
//   node scripts/build.mjs --if-stale            # only those whose inputs changed since their last build
//   node scripts/build.mjs --only dashboard,ide  # a subset (combines with --if-stale)
//
// `npm start` runs it with --if-stale (prestart), so a fresh clone builds once and a restart
// builds nothing. A target is stale when any of its inputs is newer than the stamp its last
// successful build wrote; a failed build writes no stamp, so the next start tries again.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED_INPUTS = ['package.json', 'package-lock.json'];

/** What each target reads (files or folders, relative to the root), where it writes, how it builds. */
const TARGETS = {
  server: {
    inputs: ['src', 'tsconfig.json', 'tsconfig.build.json', ...SHARED_INPUTS],
    out: 'dist',
    build: () => {
      run('node_modules/typescript/bin/tsc', ['-p', 'tsconfig.build.json']);
      copyRuntimeFiles('src', 'dist');
    },
  },
  // The pages import from src/client and src/usage (header parsing, CSV): those rooms are inputs too.
  dashboard: {
    inputs: ['dashboard/src', 'dashboard/public', 'dashboard/index.html', 'dashboard/vite.config.ts', 'src/client', 'src/usage', ...SHARED_INPUTS],
    out: 'dashboard/dist',
    build: () => run('node_modules/vite/bin/vite.js', ['build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn']),
  },
  ide: {
    inputs: ['ide/src', 'ide/public', 'ide/index.html', 'ide/vite.config.ts', 'src/client', 'src/usage', ...SHARED_INPUTS],
    out: 'ide/dist',
    build: () => run('node_modules/vite/bin/vite.js', ['build', '--config', 'ide/vite.config.ts', '--logLevel', 'warn']),
  },
};

/** Files the compiled server reads at run time beside its modules (`new URL('./x.lua', import.meta.url)`). */
const RUNTIME_FILE = /\.lua$/;
const STAMP = '.build-stamp';

const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');
const onlyIndex = args.indexOf('--only');
const names = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',') : Object.keys(TARGETS);
for (const name of names) {
  if (!(name in TARGETS)) {
    console.error(`build: unknown target ${JSON.stringify(name)}; known: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}

for (const name of names) {
  const target = TARGETS[name];
  const stamp = join(ROOT, target.out, STAMP);
  if (ifStale && existsSync(stamp) && newestInput(target.inputs) <= statSync(stamp).mtimeMs) continue;
  const started = Date.now();
  target.build();
  // The stamp's mtime is the build's start: an input edited during the build makes it stale again.
  writeFileSync(stamp, '');
  utimesSync(stamp, new Date(started), new Date(started));
  console.log(`build: ${name} -> ${target.out}/ (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function run(script, scriptArgs) {
  const result = spawnSync(process.execPath, [join(ROOT, script), ...scriptArgs], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build: ${relative(ROOT, join(ROOT, script))} ${scriptArgs.join(' ')} failed (${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function copyRuntimeFiles(from, to) {
  for (const file of listFiles(join(ROOT, from))) {
    if (!RUNTIME_FILE.test(file)) continue;
    const target = join(ROOT, to, relative(join(ROOT, from), file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
}

/** The newest mtime (ms) among the inputs; a missing input counts as old (optional folders). */
function newestInput(inputs) {
  let newest = 0;
  for (const input of inputs) {
    const path = join(ROOT, input);
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory() ? listFiles(path) : [path];
    for (const file of files) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}
