import { LEVELS, NONE, REQUEST, ROLE, TENANT, USER, type Level } from './fill-context.js';

/**
 * Words in a resolver's own source that read the caller, most telling first. The start-up half of
 * scope safety: a resolver whose text visibly reads more of the caller than its field's scope keys
 * on stops the gateway (cached-directive.ts). Best effort by nature: what a helper it calls reads is
 * invisible here, and the run-time tracking (fill-context.ts) catches that on the first miss.
 */
const WORDS: readonly [RegExp, Level][] = [
  [/\b(state|ip|headers)\b/, REQUEST],
  [/\b(clientId|kind)\b/, USER],
  [/\brole\b/, ROLE],
  [/\b(principal|loaders|tenantScope|callOf|tenantId|planId)\b/, TENANT],
];

/** The most of the caller `resolve`'s source text reads, and the word that says so. */
export function staticCallerReads(resolve: (...args: never[]) => unknown): { level: Level; word: string | null; name: string } {
  const text = Function.prototype.toString
    .call(resolve)
    // Comments and plain string literals say nothing about what the code reads.
    .replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
    .replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, "''");
  for (const [pattern, level] of WORDS) {
    const found = pattern.exec(text);
    if (found) return { level, word: found[1]!, name: LEVELS[level] };
  }
  return { level: NONE, word: null, name: LEVELS[NONE] };
}
