import type { CacheScope } from './cache-scope.js';
import { LEVELS, NONE, REQUEST, ROLE, SCOPE_LEVEL, TENANT, USER, type Level } from './fill-context.js';

/**
 * Words in a resolver's own source that read the caller, most telling first. The static half of
 * scope safety, run in CI over the real resolver maps (test/cache/static-scopes.test.ts): a
 * resolver whose text visibly reads more of the caller than its field's scope keys on fails the
 * build. It runs on the maps, not at start: graphql-tools binds every resolver it installs, and a
 * bound function's text is `[native code]`. Best effort by nature: what a helper it calls reads is
 * invisible here, and the run-time tracking (fill-context.ts) catches that on the first miss.
 */
const WORDS: readonly [RegExp, Level][] = [
  // As the run-time tracking has it (fill-context.ts): the plan a tenant is on, and what the config
  // or the run-time services say of a caller, can change under it with nothing to invalidate.
  [/\b(state|ip|headers|planId|tenants|apiKeys|serviceTokens|platformAdminKeys|publishableKeys|limitsView|overrides)\b/, REQUEST],
  [/\b(clientId|kind)\b/, USER],
  [/\b(role)\b/, ROLE],
  [/\b(principal|loaders|tenantScope|callOf|tenantId)\b/, TENANT],
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

/**
 * Throws when `resolve`'s own text reads more of the caller than `scope` keys on, naming the field,
 * the word and the scope to use instead.
 */
export function checkStaticScope(coordinate: string, scope: CacheScope, resolve: (...args: never[]) => unknown): void {
  const reads = staticCallerReads(resolve);
  if (reads.level <= SCOPE_LEVEL[scope]) return;
  const perRequest = reads.level === REQUEST;
  throw new Error(
    `@cached(scope: ${scope}) on ${coordinate}: its resolver reads "${reads.word}", which depends on the caller's ${perRequest ? 'request' : reads.name.toLowerCase()}; ` +
      `a ${scope} entry would serve it to callers who differ there (${perRequest ? 'do not cache it' : `use scope: ${reads.name}`})`,
  );
}
