#!/usr/bin/env node
// The import graph of src/, checked: no cycle (type-only imports included: a cycle of types is a
// cycle of concepts), no import out of a leaf room, and no import of the composition layer but
// from the composition root. Parses with the TypeScript compiler the
// project already has, so `import type`, `export ... from`, `import('x')` and `import('x').T` all
// count. Prints every offending chain and exits 1; prints a one-line summary and exits 0 otherwise.
//
//   node scripts/import-graph.mjs            # check src/
//   node scripts/import-graph.mjs --list     # also print each room's imports of other rooms
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/**
 * Rooms that import no other room: what everything else stands on. A leaf may import packages and
 * Node's modules; `allowed` names the rooms it may still use (none today).
 */
const LEAVES = { observability: { allowed: [] } };

/**
 * Rooms of the composition layer: they wire the other rooms together (the schema with its
 * transformers, observers fed by several rooms), so only the composition root (`src/*.ts`:
 * gateway.ts, main.ts) and the layer itself may import them.
 */
const COMPOSITION = ['wiring'];

/** Every .ts file under `dir` (no .d.ts), as paths relative to src/ with forward slashes. */
function sourceFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(relative(SRC, path).split(sep).join('/'));
  }
  return found;
}

/** The module specifiers a file imports, with the line of each. */
function specifiersOf(file) {
  const text = readFileSync(join(SRC, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const add = (node, literal) => {
    if (literal && ts.isStringLiteralLike(literal))
      found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The src/ file a relative specifier names (`./x.js` is `./x.ts` on disk), or null for packages and files outside src/. */
function resolveSpecifier(from, specifier) {
  if (!specifier.startsWith('.')) return null;
  const target = join(SRC, dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, join(target, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) {
      const rel = relative(SRC, candidate).split(sep).join('/');
      return rel.startsWith('..') ? null : rel;
    }
  }
  throw new Error(`${from}: cannot resolve import "${specifier}"`);
}

/** `limits/plugin.ts` -> `limits`; files at the top of src/ (gateway.ts, main.ts) -> `(root)`. */
const roomOf = (file) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(root)');

const files = sourceFiles(SRC).sort();
/** file -> [{ to, line }] */
const graph = new Map(
  files.map((file) => [
    file,
    specifiersOf(file).flatMap(({ specifier, line }) => {
      const to = resolveSpecifier(file, specifier);
      return to ? [{ to, line }] : [];
    }),
  ]),
);

// Cycles: Tarjan's strongly connected components; each component of more than one file (or a file
// importing itself) is reported with one cycle through it, found by a breadth-first search.
function components() {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const connect = (file) => {
    const s = { index, low: index, onStack: true };
    index++;
    state.set(file, s);
    stack.push(file);
    for (const { to } of graph.get(file)) {
      const t = state.get(to);
      if (!t) {
        connect(to);
        s.low = Math.min(s.low, state.get(to).low);
      } else if (t.onStack) s.low = Math.min(s.low, t.index);
    }
    if (s.low === s.index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        state.get(member).onStack = false;
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || graph.get(file).some(({ to }) => to === file)) found.push(component.sort());
    }
  };
  for (const file of files) if (!state.has(file)) connect(file);
  return found;
}

/** The shortest chain of imports from `from` back to `from` inside `members`. */
function cycleThrough(from, members) {
  const inside = new Set(members);
  const previous = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const { to } of graph.get(file)) {
      if (!inside.has(to)) continue;
      if (to === from) {
        const chain = [from];
        for (let at = file; at !== from; at = previous.get(at)) chain.splice(1, 0, at);
        return [...chain, from];
      }
      if (!previous.has(to)) {
        previous.set(to, file);
        queue.push(to);
      }
    }
  }
  return [from, from];
}

const problems = [];
for (const members of components()) {
  problems.push(`import cycle (${members.length} files): ${cycleThrough(members[0], members).join(' -> ')}`);
}

for (const [file, edges] of graph) {
  const leaf = LEAVES[roomOf(file)];
  if (!leaf) continue;
  for (const { to, line } of edges) {
    const room = roomOf(to);
    if (room === roomOf(file) || leaf.allowed.includes(room)) continue;
    problems.push(`${roomOf(file)}/ is a leaf: ${file}:${line} imports ${to}`);
  }
}

for (const [file, edges] of graph) {
  const from = roomOf(file);
  if (from === '(root)' || COMPOSITION.includes(from)) continue;
  for (const { to, line } of edges) {
    if (COMPOSITION.includes(roomOf(to))) problems.push(`${roomOf(to)}/ is the composition layer: ${file}:${line} imports ${to}`);
  }
}

if (process.argv.includes('--list')) {
  const rooms = new Map();
  for (const [file, edges] of graph) {
    for (const { to } of edges) {
      if (roomOf(to) === roomOf(file)) continue;
      const set = rooms.get(roomOf(file)) ?? new Set();
      set.add(roomOf(to));
      rooms.set(roomOf(file), set);
    }
  }
  for (const [room, uses] of [...rooms].sort()) console.log(`${room} -> ${[...uses].sort().join(', ')}`);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  console.error(`import graph: ${problems.length} problem(s) in ${files.length} files under src/`);
  process.exit(1);
}
const edges = [...graph.values()].reduce((sum, list) => sum + list.length, 0);
console.log(
  `import graph: ${files.length} files, ${edges} imports, no cycle; leaf rooms (${Object.keys(LEAVES).join(', ')}) import no other room; ` +
    `the composition layer (${COMPOSITION.join(', ')}) is imported only from the root`,
);
