/** What kind of operation a document runs, read from its text without a GraphQL parser (the kit has no dependencies). */
export type OperationType = 'query' | 'mutation' | 'subscription';

const KEYWORDS = new Set(['query', 'mutation', 'subscription', 'fragment']);

/** Drops comments and string literals, so keywords and braces inside them do not count. */
function strip(document: string): string {
  return document.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, ' ');
}

/**
 * The type of the operation `operationName` selects (or of the only operation): `{ ... }` alone is
 * a query. Null when it cannot tell (several operations and no name, or no such name): callers
 * then treat the operation as not idempotent, so it is never retried.
 */
export function operationTypeOf(document: string, operationName?: string | null): OperationType | null {
  const text = strip(document);
  const found: { type: OperationType; name: string | null }[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{') {
      if (depth === 0) found.push({ type: 'query', name: null }); // the shorthand query
      depth++;
      i++;
    } else if (c === '}') {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (depth === 0 && /[_A-Za-z]/.test(c)) {
      const word = /^[_A-Za-z][_0-9A-Za-z]*/.exec(text.slice(i))![0];
      i += word.length;
      if (!KEYWORDS.has(word)) continue;
      const name = /^\s*([_A-Za-z][_0-9A-Za-z]*)/.exec(text.slice(i))?.[1] ?? null;
      // On to the definition's selection set: the first `{` outside the variable definitions.
      let parens = 0;
      while (i < text.length && !(text[i] === '{' && parens === 0)) {
        if (text[i] === '(') parens++;
        else if (text[i] === ')') parens--;
        i++;
      }
      if (word !== 'fragment') found.push({ type: word as OperationType, name });
      depth = 1;
      i++;
    } else {
      i++;
    }
  }
  if (operationName) return found.find((f) => f.name === operationName)?.type ?? null;
  return found.length === 1 ? found[0]!.type : null;
}
